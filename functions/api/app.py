"""ApiFunction: the buffered routes through Mangum (``mangum_handler``).

The app is built once per execution environment (module scope), so warm invocations pay nothing for
settings, backends or the model-list cache. Deployed with SnapStart (template.yaml): that init runs
once per published version, and restored environments get ``after_restore`` (lambda_app.py).
"""

from ob1_gateway.app import create_app
from ob1_gateway.lambda_app import mangum_handler, register_snapstart_hooks

app = create_app()
handler = mangum_handler(app)
register_snapstart_hooks(app)
