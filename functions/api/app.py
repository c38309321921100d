"""ApiFunction: the buffered routes through Mangum (``mangum_handler``).

The app is built once per execution environment (module scope), so warm invocations pay nothing for
settings, backends or the model-list cache. Deployed with SnapStart (template.yaml): that init runs
once per published version, and restored environments get ``after_restore`` (ob1_gateway/hosting/aws_lambda.py).
"""

from ob1_gateway.hosting.cold_imports import lean_imports

lean_imports()  # before anything imports FastAPI or aiohttp: what they would build for nothing (see there)

from ob1_gateway.app import create_app  # noqa: E402
from ob1_gateway.hosting.aws_lambda import mangum_handler, register_snapstart_hooks  # noqa: E402

app = create_app()
handler = mangum_handler(app)
register_snapstart_hooks(app)
