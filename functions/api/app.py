"""ApiFunction: the buffered routes through Mangum.

The app is built once per execution environment (module scope), so warm invocations pay nothing for
settings, backends or the model-list cache. ``lifespan="off"``: Mangum would otherwise run startup and
shutdown around every event. ``lambda_app`` finishes usage writes before the handler returns.
``observability.lambda_handler`` adds Powertools' Lambda context, the API Gateway request id as
correlation id and a traced handler (``create_app`` already set up Logger, Metrics and Tracer).
"""

from mangum import Mangum
from ob1_gateway import observability
from ob1_gateway.app import create_app
from ob1_gateway.lambda_app import lambda_app

app = create_app()
handler = observability.lambda_handler(Mangum(lambda_app(app), lifespan="off"))
