"""StreamFunction under ``sam local`` (template parameter ``LocalEmulation=true``): the same app through
Mangum, without the Lambda Web Adapter, which sam local can neither download offline nor stream.
Deployed stacks run ``run.sh`` behind the adapter instead."""

from ob1_gateway.app import create_app
from ob1_gateway.lambda_app import mangum_handler

handler = mangum_handler(create_app())
