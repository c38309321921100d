"""``Gateway``: the long-lived parts of a running gateway, built once per process from settings and
backends — the upstream client and its model catalog, admission (``access``) and the usage recorder."""

from __future__ import annotations

from dataclasses import dataclass

from .access.admission import Access
from .access.authenticator import KeyAuthenticator
from .access.budgets import BudgetGuard
from .access.rate_limits import RateLimiter
from .access.search_allowance import SearchAllowance
from .metering.recorder import UsageRecorder
from .settings import Settings
from .stores.base import Backends
from .upstream.catalog import ModelCatalog
from .upstream.client import UpstreamClient
from .upstream.token import OB1TokenManager, StaticKey, TokenProvider
from .websearch.web_kit import WebToolsHost


@dataclass
class Gateway:
    settings: Settings
    backends: Backends
    upstream: UpstreamClient
    catalog: ModelCatalog
    access: Access
    recorder: UsageRecorder
    web: WebToolsHost  # the gateway's own web tools (search, fetch), when the settings turn them on
    searches: SearchAllowance  # each key's web searches today

    async def aclose(self) -> None:
        await self.recorder.drain()
        await self.upstream.aclose()
        await self.web.aclose()


def token_provider(settings: Settings, backends: Backends) -> TokenProvider:
    if settings.upstream_api_key is not None:
        return StaticKey(settings.upstream_api_key.get_secret_value())
    return OB1TokenManager.from_settings(settings, backends.token_store)


def build_gateway(settings: Settings, backends: Backends) -> Gateway:
    upstream = UpstreamClient(settings, token_provider(settings, backends))
    access = Access(
        authenticator=KeyAuthenticator(
            backends.key_store, settings.key_cache_ttl_seconds, settings.key_miss_cache_ttl_seconds
        ),
        budgets=BudgetGuard(backends.usage_store),
        limiter=RateLimiter(backends.rate_store),
    )
    recorder = UsageRecorder(backends.usage_store)
    searches = SearchAllowance(backends.usage_store)
    # A finished request frees its slot and counts its tokens; its cost counts against the key's budget; its web
    # searches against the key's daily allowance.
    recorder.listeners += [access.limiter, access.budgets, searches]
    return Gateway(
        settings=settings,
        backends=backends,
        upstream=upstream,
        catalog=ModelCatalog(
            upstream.list_models,
            ttl_seconds=settings.models_ttl_seconds,
            aliases=settings.model_aliases,
            family_fallback=settings.model_family_fallback,
        ),
        access=access,
        recorder=recorder,
        web=WebToolsHost(settings, backends.secrets),
        searches=searches,
    )
