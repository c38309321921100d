"""``create_app``: the one FastAPI app behind ``ob1gw serve``, the Mangum Lambda and the LWA Lambda."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig

from . import __version__
from .api.errors import install_error_handlers
from .api.request_log import RequestLog
from .api.routes import anthropic, health, openai, responses
from .gateway import build_gateway
from .settings import Settings, get_settings
from .stores.backends import build_backends
from .stores.base import Backends
from .telemetry import powertools as observability
from .telemetry.request_event import RequestListener
from .upstream.token import OB1TokenManager

# What API Gateway sends to StreamFunction (template.yaml: its Api events), and /health, the Web Adapter's
# readiness check; tests/integration/test_stream_routes.py holds the two lists together.
STREAM_ROUTERS = (health.router, openai.router, anthropic.router, responses.router)


def _routers(stream_only: bool) -> tuple[APIRouter, ...]:
    if stream_only:
        return STREAM_ROUTERS
    from .api.routes import count_tokens, metrics, models, responses_extra, usage_report

    buffered = (models.router, count_tokens.router, responses_extra.router, usage_report.router, metrics.router)
    return STREAM_ROUTERS + buffered


def create_app(
    settings: Settings | None = None, backends: Backends | None = None, *, stream_only: bool = False
) -> FastAPI:
    """The gateway's app. ``stream_only`` (StreamFunction): only the routes API Gateway sends there and
    ``/health``, and no OpenAPI document; the other routes' modules are not even imported (a cold start
    pays for each route it builds)."""
    settings = settings or get_settings()
    observability.setup(settings)
    gateway = build_gateway(settings, backends or build_backends(settings))
    tokens = gateway.upstream.tokens if isinstance(gateway.upstream.tokens, OB1TokenManager) else None
    request_listeners: list[RequestListener] = []  # told of each request that ended without a usage record
    if observability.enabled():
        gateway.recorder.listeners.append(observability.REQUEST_METRICS)
        request_listeners.append(observability.observe_unmetered)
        if tokens is not None:
            tokens.refresh_listeners.append(observability.count_token_refresh)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await gateway.aclose()

    # FastAPI's native OpenTelemetry stays off: the gateway reports through Powertools (EMF, X-Ray), and
    # the check alone (is an OTel provider configured?) read os.environ on every request
    # (bench/README.md, "Since aiohttp and forked workers").
    off = TelemetryConfig(tracing=False, metrics=False, logs=False)
    # The API documentation answers only where the admin asked for it (never by default, so not on AWS).
    docs = settings.api_docs and not stream_only
    app = FastAPI(
        title="ob1-gateway",
        version=__version__,
        lifespan=lifespan,
        telemetry=off,
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    app.state.gateway = gateway
    if settings.metrics_token is not None:
        from .telemetry.prometheus import GatewayMetrics

        app.state.metrics = GatewayMetrics(gateway.backends, login=tokens is not None)
        gateway.recorder.listeners.append(app.state.metrics)
        request_listeners.append(app.state.metrics.unmetered)
        if tokens is not None:
            tokens.refresh_listeners.append(app.state.metrics.refreshed)
            tokens.refresh_failure_listeners.append(app.state.metrics.refresh_failed)
    install_error_handlers(app)
    app.add_middleware(RequestLog, listeners=request_listeners)
    observability.install(app)
    for router in _routers(stream_only):
        app.include_router(router)
    return app
