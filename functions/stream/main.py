"""StreamFunction: the ASGI app uvicorn serves behind the Lambda Web Adapter (see run.sh)."""

from ob1_gateway.app import create_app

app = create_app()
