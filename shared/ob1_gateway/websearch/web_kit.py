"""What the gateway runs web tools with, made from the settings: the search provider ``OB1GW_WEB_SEARCH`` names and
the fetcher ``OB1GW_WEB_FETCH`` turns on. Their connections belong to one event loop, so ``WebToolsHost`` makes
them in the loop that first needs them (and again in a new loop: each Lambda invocation under Mangum)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from ..settings import Settings
from ..translate.web_tools import FETCH_FUNCTION, SEARCH_FUNCTION
from .fetcher import Fetcher
from .search_providers import LIST_PRICE_USD, SearchProvider, provider_named

__all__ = ["WebKit", "WebToolsHost"]

log = logging.getLogger("ob1_gateway.websearch")


@dataclass
class WebKit:
    """What the gateway has to run web tools with (settings made real); either part may be absent."""

    provider: SearchProvider | None
    fetcher: Fetcher | None
    max_results: int = 5
    search_price_usd: float = 0.0

    async def aclose(self) -> None:
        for part in (self.provider, self.fetcher):
            if part is not None:
                await part.aclose()


class WebToolsHost:
    """The gateway's web tools: which are on (``offered``) and, in the running loop, the ``WebKit`` to run them."""

    def __init__(self, settings: Settings, secrets: Callable[[str], str] | None = None) -> None:
        """``secrets`` reads the provider's key from ``OB1GW_WEB_SEARCH_API_KEY_SECRET_ID`` (AWS) when the settings
        do not hold it."""
        self._settings = settings
        self._secrets = secrets
        search = settings.web_search != "off"
        self.by_upstream = settings.web_search == "upstream"  # the upstream searches: no provider here
        self.offered = frozenset({SEARCH_FUNCTION} if search else set()) | (
            frozenset({FETCH_FUNCTION}) if settings.web_fetch else frozenset()
        )
        price = settings.web_search_price_usd
        self.search_price_usd = price if price is not None else LIST_PRICE_USD.get(settings.web_search, 0.0)
        self._kit: WebKit | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def kit(self) -> WebKit:
        loop = asyncio.get_running_loop()
        if self._kit is None or self._loop is not loop:
            settings = self._settings
            provider = (
                provider_named(settings.web_search, settings.web_search_url, await self._api_key())
                if SEARCH_FUNCTION in self.offered and not self.by_upstream
                else None
            )
            fetcher = Fetcher() if FETCH_FUNCTION in self.offered else None
            self._kit = WebKit(provider, fetcher, settings.web_search_max_results, self.search_price_usd)
            self._loop = loop
        return self._kit

    async def _api_key(self) -> str:
        settings = self._settings
        if settings.web_search_api_key is not None:
            return settings.web_search_api_key.get_secret_value()
        if settings.web_search_api_key_secret_id and self._secrets is not None:
            try:
                return await asyncio.to_thread(self._secrets, settings.web_search_api_key_secret_id)
            except Exception as exc:  # searches then fail as "unavailable" (the provider refuses no key)
                log.warning("the web search key could not be read from its secret: %s", type(exc).__name__)
        return ""

    async def aclose(self) -> None:
        if self._kit is not None and self._loop is asyncio.get_running_loop():
            await self._kit.aclose()
        self._kit = None
