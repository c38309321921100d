"""StreamFunction: the ASGI app uvicorn serves behind the Lambda Web Adapter (see run.sh).

``lambda_app`` ends each response only after its usage write, since Lambda freezes the environment
as soon as the last streamed byte is out.
"""

from ob1_gateway.app import create_app
from ob1_gateway.stores.aws_lambda import lambda_app

app = lambda_app(create_app())
