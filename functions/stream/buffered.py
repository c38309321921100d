"""StreamFunction under ``sam local`` (template parameter ``LocalEmulation=true``): the same app through
Mangum, without the Lambda Web Adapter, which sam local can neither download offline nor stream.
Deployed stacks run ``run.sh`` behind the adapter instead."""

from ob1_gateway.lazy_openapi import import_fastapi

import_fastapi()  # before anything imports FastAPI: its OpenAPI models wait for a document (see there)

from ob1_gateway.app import create_app  # noqa: E402
from ob1_gateway.lambda_app import mangum_handler  # noqa: E402

handler = mangum_handler(create_app(stream_only=True))
