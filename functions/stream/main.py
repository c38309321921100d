"""StreamFunction: the ASGI app uvicorn serves behind the Lambda Web Adapter (see run.sh).

``lambda_app`` ends each response only after its usage write, since Lambda freezes the environment
as soon as the last streamed byte is out. Powertools is set up by ``create_app`` (AWS detected from
the environment): there is no Lambda handler to decorate under LWA, so the app's observability
middleware takes the correlation id from LWA's ``x-amzn-request-context`` header and the X-Ray trace
from ``x-amzn-trace-id``, and each request's EMF metrics are flushed as it finishes. With SnapStart on
(``StreamSnapStart``), the adapter calls the after-restore path in each restored copy.
"""

import os

from ob1_gateway.hosting.cold_imports import lean_imports

lean_imports()  # before anything imports FastAPI or aiohttp: what they would build for nothing (see there)

from ob1_gateway.app import create_app  # noqa: E402
from ob1_gateway.hosting.aws_lambda import add_after_restore_route, lambda_app  # noqa: E402

gateway = create_app(stream_only=True)
add_after_restore_route(gateway, os.environ.get("AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH"))
app = lambda_app(gateway)
