"""Powertools on AWS: JSON logs with the API Gateway request id as correlation id, EMF metrics, X-Ray.

Enabled when running on AWS (in Lambda, or ``OB1GW_BACKEND=aws``); ``OB1GW_POWERTOOLS=1|0`` forces it
either way (e.g. to see EMF locally). Off, nothing changes: plain
logging, no metrics on stdout. The app talks to this module through these calls only:

- ``setup(settings)``: once per process; configures the Logger and Tracer. Idempotent.
- ``install(app)``: the per-request middleware (correlation id, X-Ray trace header under LWA).
- ``REQUEST_METRICS`` (a usage listener: one EMF blob per finished request), ``observe_unmetered`` (a
  request_log.py listener: one blob per request that ended without a usage record, e.g. a 401 or an
  exhausted budget) and ``count_token_refresh`` (a token manager's refresh listener), which
  ``create_app`` attaches to its recorder, request log and token manager.

Metrics use ``EphemeralMetrics`` and are flushed as each request finishes, so nothing waits for a
handler decorator (there is none under the Lambda Web Adapter) and concurrent requests never share
dimensions. Dimensions are low-cardinality only: model, route, status (plus Powertools' service).
Per-key figures are in the ``usage`` log line (metering/recorder.py), which the dashboard's Logs Insights
and Contributor Insights widgets read.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..settings import Settings
    from ..stores.base import UsageRecord
    from .request_event import UnmeteredRequest

log = logging.getLogger("ob1_gateway.observability")

DEFAULT_NAMESPACE = "OB1Gateway"  # Settings.metrics_namespace's default (POWERTOOLS_METRICS_NAMESPACE)
DEFAULT_SERVICE = "ob1-gateway"  # Settings.service_name's default (POWERTOOLS_SERVICE_NAME)
PACKAGE_LOGGER = "ob1_gateway"
# Routes a metric may name; anything else (the /{proxy+} fallback) is "other", so a scanner cannot
# mint new dimension values.
METERED_ROUTES = frozenset(
    {"/v1/messages", "/v1/chat/completions", "/v1/responses", "/v1/messages/count_tokens", "/v1/models", "/v1/usage"}
)


@dataclass
class _State:
    enabled: bool = False
    namespace: str = DEFAULT_NAMESPACE
    service: str = DEFAULT_SERVICE
    logger: Any = None  # aws_lambda_powertools.Logger
    tracer: Any = None  # aws_lambda_powertools.Tracer
    handler: logging.Handler | None = None
    lambda_logging: bool = False


_state = _State()
_logger: Any = None  # aws_lambda_powertools.Logger, created once per process


def wanted(settings: Settings | None = None) -> bool:
    """Whether Powertools should run (``Settings.powertools_wanted``; from the environment if not given)."""
    return _settings(settings).powertools_wanted


def _settings(settings: Settings | None) -> Settings:
    from ..settings import load_settings

    return settings if settings is not None else load_settings()


def enabled() -> bool:
    return _state.enabled


class _Stdout(logging.StreamHandler):  # type: ignore[type-arg]
    """The Logger's handler, writing to whatever ``sys.stdout`` is at emit time (test capture swaps it)."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def setup(settings: Settings | None = None) -> bool:
    """Turn Powertools on for this process when ``wanted``; returns whether it is on."""
    settings = _settings(settings)
    if _state.enabled or not settings.powertools_wanted:
        return _state.enabled
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

    _state.namespace = settings.metrics_namespace
    _state.service = settings.service_name
    level = settings.log_level

    # One Logger per process: Powertools keeps its handler on the named stdlib logger, so a second
    # instance for the same service would find it configured and come up without a formatter.
    global _logger
    if _logger is None:
        _logger = Logger(service=_state.service, level=level, logger_handler=_Stdout())
    _logger.setLevel(level)
    _state.logger, _state.handler = _logger, _logger.registered_handler
    package = logging.getLogger(PACKAGE_LOGGER)
    if settings.in_lambda:
        # In Lambda the runtime's root handler would print every line again as plain text.
        copy_config_to_registered_loggers(source_logger=_state.logger, include={PACKAGE_LOGGER}, log_level=level)
        _state.lambda_logging = True
    else:  # a server or a test on the AWS backend: add JSON lines, leave propagation (and caplog) alone
        package.addHandler(_state.handler)
        package.setLevel(level)

    if settings.tracer:
        # X-Ray subsegments for boto3 (DynamoDB, Secrets Manager). The X-Ray SDK does not patch aiohttp (the
        # upstream client), so upstream time is the handler segment's remainder and the latency/TTFT
        # metrics. Powertools disables the tracer by itself outside Lambda; a request without a trace
        # context is not an error.
        from aws_lambda_powertools import Tracer

        os.environ.setdefault("AWS_XRAY_CONTEXT_MISSING", "IGNORE_ERROR")
        _state.tracer = Tracer(service=_state.service, patch_modules=["boto3"])

    _state.enabled = True
    return True


def reset() -> None:
    """Undo ``setup`` (tests)."""
    package = logging.getLogger(PACKAGE_LOGGER)
    if _state.handler is not None:
        package.removeHandler(_state.handler)
    if _state.lambda_logging:
        package.propagate = True
    package.setLevel(logging.NOTSET)
    _state.__init__()  # type: ignore[misc]


# ---- metrics -------------------------------------------------------------------------------------------


def _metrics(**dimensions: str) -> Any:
    from aws_lambda_powertools.metrics import EphemeralMetrics

    metrics = EphemeralMetrics(namespace=_state.namespace, service=_state.service)
    for name, value in dimensions.items():
        metrics.add_dimension(name=name, value=value)
    return metrics


def _route(path: str) -> str:
    return path if path in METERED_ROUTES else "other"


def observe_request(record: UsageRecord, ttft_ms: float | None = None) -> None:
    """One EMF blob for a finished request: counts, tokens, cost and latencies, by model/route/status."""
    if not _state.enabled:
        return
    try:
        from aws_lambda_powertools.metrics import MetricUnit

        m = _metrics(model=record.model or "unknown", route=_route(record.route), status=str(record.status))
        m.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        m.add_metric(name="Errors", unit=MetricUnit.Count, value=1 if record.status >= 400 else 0)
        m.add_metric(name="InputTokens", unit=MetricUnit.Count, value=record.input_tokens)
        m.add_metric(name="OutputTokens", unit=MetricUnit.Count, value=record.output_tokens)
        m.add_metric(name="CacheReadTokens", unit=MetricUnit.Count, value=record.cache_read_tokens)
        m.add_metric(name="CostUSD", unit=MetricUnit.NoUnit, value=record.cost_usd)
        m.add_metric(name="WebSearches", unit=MetricUnit.Count, value=record.web_searches)
        m.add_metric(name="WebFetches", unit=MetricUnit.Count, value=record.web_fetches)
        m.add_metric(name="UpstreamLatency", unit=MetricUnit.Milliseconds, value=record.latency_ms)
        if ttft_ms is not None:
            m.add_metric(name="TimeToFirstToken", unit=MetricUnit.Milliseconds, value=ttft_ms)
        m.flush_metrics()
        if record.budget_used_pct is not None:
            # By service only: one metric for every key (its Maximum is what the budget alarm watches);
            # which key it is, is in the usage log line (the dashboard's "Budget used per key").
            budget = _metrics()
            budget.add_metric(name="BudgetUsedPercent", unit=MetricUnit.Percent, value=record.budget_used_pct)
            budget.flush_metrics()
    except Exception as exc:  # metrics must never fail a request
        log.warning("could not emit request metrics: %s", type(exc).__name__)


def observe_unmetered(request: UnmeteredRequest) -> None:
    """A request that ended without a usage record (bad key, over budget, bad body, /v1/models): Requests,
    and Errors when it was refused, with model "none". (No Errors of 0 for a success: every route and
    status is a custom metric of its own, $0.30 a month each.)"""
    if not _state.enabled:
        return
    try:
        from aws_lambda_powertools.metrics import MetricUnit

        m = _metrics(model="none", route=request.route, status=str(request.status))
        m.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        if request.status >= 400:
            m.add_metric(name="Errors", unit=MetricUnit.Count, value=1)
        m.flush_metrics()
    except Exception as exc:
        log.warning("could not emit error metrics: %s", type(exc).__name__)


class _RequestMetrics:
    """The usage listener behind the per-request EMF blob."""

    def submitted(self, record: UsageRecord) -> None:
        observe_request(record, record.ttft_ms)

    def settled(self, records: Iterable[UsageRecord]) -> None:
        pass


REQUEST_METRICS = _RequestMetrics()


def count_token_refresh() -> None:
    if not _state.enabled:
        return
    try:
        from aws_lambda_powertools.metrics import MetricUnit

        m = _metrics()
        m.add_metric(name="TokenRefreshes", unit=MetricUnit.Count, value=1)
        m.flush_metrics()
    except Exception as exc:
        log.warning("could not emit the token refresh metric: %s", type(exc).__name__)


# ---- per-request middleware ----------------------------------------------------------------------------


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers") or ()
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def request_id(scope: dict[str, Any]) -> str | None:
    """API Gateway's request id: the Mangum event's requestContext, or LWA's ``x-amzn-request-context``."""
    event = scope.get("aws.event")
    if isinstance(event, dict):
        rid = (event.get("requestContext") or {}).get("requestId")
        if rid:
            return str(rid)
    raw = _header(scope, b"x-amzn-request-context")
    if raw:
        try:
            rid = json.loads(raw).get("requestId")
        except (ValueError, AttributeError):
            return None
        return str(rid) if rid else None
    return None


class ObservabilityMiddleware:
    """Per request: the correlation id on every log line and LWA's trace header for X-Ray. (A request
    that ends without a usage record is counted by ``observe_unmetered``, a request_log.py listener.)"""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not _state.enabled:
            await self.app(scope, receive, send)
            return
        if _state.logger is not None:
            _state.logger.set_correlation_id(request_id(scope))
        trace = _header(scope, b"x-amzn-trace-id")
        if trace and "aws.event" not in scope:
            # Under LWA the runtime cannot set this per invocation for the uvicorn process; one
            # invocation at a time runs in an execution environment, so the process env is safe to use.
            os.environ["_X_AMZN_TRACE_ID"] = trace
        await self.app(scope, receive, send)


def lambda_handler(handler: Any) -> Any:
    """Wrap a Lambda handler (Mangum): Powertools' Lambda context and API Gateway correlation id on every
    log line, and (``OB1GW_TRACER=true``) a traced handler subsegment without the response, which carries
    completions."""
    if not _state.enabled:
        return handler
    from aws_lambda_powertools.logging import correlation_paths

    def invoke(event: dict[str, Any], context: Any) -> Any:
        return handler(event, context)

    if _state.tracer is not None:
        invoke = _state.tracer.capture_lambda_handler(capture_response=False)(invoke)
    return _state.logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)(invoke)


def install(app: FastAPI) -> None:
    """Add the middleware when Powertools is on (``setup`` has run): off, it would be one more layer on
    every message of every stream for nothing."""
    if _state.enabled:
        app.add_middleware(ObservabilityMiddleware)
