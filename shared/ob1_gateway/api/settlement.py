"""The guarantee that an admitted request ends in exactly one usage record, a closed upstream response
and freed rate/parallel slots, whatever fails after admission: a header that cannot be sent, a
translator error, a client gone, a stream whose body iterator never starts.

``admit`` registers the request's ``Settlement`` on its scope; the pipeline hands it the open upstream
stream. The routes record as usual; the ``RequestLog`` middleware, which wraps every request, calls
``settle`` once the response is over, and that records (and closes) only what nothing else did."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..translate.token_usage import Usage

if TYPE_CHECKING:
    from ..gateway import Gateway
    from ..metering.recorder import RequestMeter

__all__ = ["Settlement", "settle_request", "settlement_of"]

log = logging.getLogger("ob1_gateway.api")
_STATE_KEY = "settlement"


@dataclass
class Settlement:
    gw: Gateway
    meter: RequestMeter
    close_upstream: Callable[[], Awaitable[None]] | None = None

    def register(self, scope: MutableMapping[str, Any]) -> None:
        scope.setdefault("state", {})[_STATE_KEY] = self

    async def settle(self, status: int) -> None:
        """Record the request if nothing did (``status``: what the client was answered, or 499 when the
        answer never went out), then close the upstream response (a no-op once it was read or closed)."""
        try:
            if not self.meter.recorded:
                usage, estimated = (Usage(), False)
                if self.close_upstream is not None:  # the upstream was called: it saw the prompt
                    usage, estimated = self.meter.left_stream_usage(Usage(), 0)
                code = status if status >= 400 else 499
                self.gw.recorder.submit(self.meter.record(usage, code, self.gw.settings.pricing, estimated=estimated))
                log.warning("request %s ended without its record; recorded as %d", self.meter.request_id, code)
        finally:
            if self.close_upstream is not None:
                await self.close_upstream()


def settlement_of(request: Any) -> Settlement:
    """The admitted request's settlement (``admit`` registered it)."""
    settlement: Settlement = request.scope["state"][_STATE_KEY]
    return settlement


async def settle_request(scope: MutableMapping[str, Any], status: int) -> None:
    """Settle the request of ``scope`` if it was admitted (see the module docstring)."""
    settlement = (scope.get("state") or {}).pop(_STATE_KEY, None)
    if isinstance(settlement, Settlement):
        await settlement.settle(status)
