"""The guarantee that an admitted request ends in exactly one usage record (or, if it never went
upstream, in none), a closed upstream response and freed rate/parallel slots, whatever fails after
admission: a body or model refused, a header that cannot be sent, a translator error, a client gone, a
stream whose body iterator never starts.

``admit`` registers the request's ``Settlement`` on its scope; the pipeline marks it metered just before
it goes upstream (``start_metering``) and hands it the open upstream stream. The routes record as usual;
the ``RequestLog`` middleware, which wraps every request, calls ``settle`` once the response is over, and
that records (and closes, and frees) only what nothing else did."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..translate.token_usage import Usage
from .request_id import remember_request_id

if TYPE_CHECKING:
    from fastapi import Request

    from ..gateway import Gateway
    from ..metering.meter import RequestMeter

__all__ = ["Settlement", "settle_request", "settlement_of"]

log = logging.getLogger("ob1_gateway.api")
_STATE_KEY = "settlement"


@dataclass
class Settlement:
    gw: Gateway
    meter: RequestMeter
    metered: bool = False  # it will end in a usage record (``start_metering``)
    close_upstream: Callable[[], Awaitable[None]] | None = None

    def register(self, scope: MutableMapping[str, Any]) -> None:
        scope.setdefault("state", {})[_STATE_KEY] = self

    def start_metering(self, request: Request) -> None:
        """The request goes upstream: it ends in one usage record, whose id its response carries."""
        self.metered = True
        remember_request_id(request, self.meter.request_id)

    async def settle(self, status: int) -> None:
        """Free the slots of a request that never went upstream; else record it if nothing did (``status``:
        what the client was answered, or 499 when the answer never went out), then close the upstream
        response (a no-op once it was read or closed)."""
        if not self.metered:
            try:
                await self.gw.access.release(self.meter.request_id, self.meter.key_id)
            except Exception as exc:  # a store hiccup must not turn an answer that went out into an error
                log.warning("request %s: its slot could not be freed: %s", self.meter.request_id, type(exc).__name__)
            return
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
