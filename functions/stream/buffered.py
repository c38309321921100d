"""StreamFunction under ``sam local`` (template parameter ``LocalEmulation=true``): the same app through
Mangum, without the Lambda Web Adapter, which sam local can neither download offline nor stream.
Deployed stacks run ``run.sh`` behind the adapter instead."""

from ob1_gateway.hosting.cold_imports import lean_imports

lean_imports()  # before anything imports FastAPI or aiohttp: what they would build for nothing (see there)

from ob1_gateway.app import create_app  # noqa: E402
from ob1_gateway.hosting.aws_lambda import mangum_handler  # noqa: E402

handler = mangum_handler(create_app(stream_only=True))
