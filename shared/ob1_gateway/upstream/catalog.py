"""The upstream model list, cached per process, and the mapping from client model names to it.

Resolution never costs an upstream call per request: the list is fetched once per TTL (one fetch
shared by concurrent callers) and, if a refresh fails, the stale list keeps serving.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..translate.model_limits import ModelLimits

_DATE_SUFFIX = re.compile(r"-(\d{8}|latest)$")
_DASHED_VERSION = re.compile(r"(?<=\d)-(?=\d(?:\D|$))")
_FAMILIES = ("opus", "sonnet", "haiku")


@dataclass(frozen=True)
class Model:
    id: str
    created: int = 0
    pricing: dict[str, float] = field(default_factory=dict)  # USD per token, OpenRouter keys
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    limits: ModelLimits = field(default_factory=ModelLimits, compare=False)


class ModelNotFound(LookupError):
    def __init__(self, requested: str, suggestions: list[str]) -> None:
        hint = f" Available: {', '.join(suggestions)}." if suggestions else ""
        super().__init__(f"model '{requested}' is not available on the upstream.{hint}")
        self.requested = requested


def _parse_model(entry: dict[str, Any]) -> Model:
    pricing: dict[str, float] = {}
    for name, value in (entry.get("pricing") or {}).items():
        try:
            pricing[name] = float(value)
        except (TypeError, ValueError):
            continue
    created = entry.get("created")
    return Model(
        id=entry["id"],
        created=created if isinstance(created, int) else 0,
        pricing=pricing,
        raw=entry,
        limits=ModelLimits.from_catalog_entry(entry),
    )


def claude_candidates(name: str) -> list[str]:
    """OpenRouter spellings of an Anthropic-style id: dated, ``-latest`` and dashed versions normalised.

    ``claude-sonnet-4-5-20250929`` → ``claude-sonnet-4.5``; ``claude-3-5-haiku-latest`` → ``claude-3.5-haiku``.
    """
    base = name.split("/", 1)[-1]
    undated = _DATE_SUFFIX.sub("", base)
    dotted = _DASHED_VERSION.sub(".", undated)
    seen: list[str] = []
    for candidate in (base, undated, dotted):
        if candidate not in seen:
            seen.append(candidate)
    return seen


def _family(name: str) -> str | None:
    return next((f for f in _FAMILIES if f in name.lower()), None) if "claude" in name.lower() else None


def nearest_models(name: str, models: dict[str, Model], limit: int = 5) -> list[str]:
    """The models a caller most likely meant: its Claude family's, newest first, then ids sharing its prefix."""
    family = _family(name)
    same = [m.id for m in sorted(models.values(), key=lambda m: -m.created) if family and _family(m.id) == family]
    prefix = sorted(m.id for m in models.values() if name.split("-")[0] in m.id)
    return list(dict.fromkeys([*same, *prefix]))[:limit]


def resolve_model(
    name: str, models: dict[str, Model], aliases: dict[str, str], *, family_fallback: bool = True
) -> Model:
    """Exact id, alias, ``anthropic/`` prefix, normalised Claude id, ``vendor/`` suffix, then (unless the
    admin turned it off) the newest model of the Claude family: another model, at another price, which is
    why every answer names the model that served it (``x-ob1gw-model``)."""
    name = aliases.get(name, name)
    if name in models:
        return models[name]
    for candidate in claude_candidates(name):
        for full in (candidate, f"anthropic/{candidate}"):
            if full in models:
                return models[full]
    suffix_matches = [m for m in models.values() if m.id.split("/", 1)[-1] == name]
    if suffix_matches:
        return max(suffix_matches, key=lambda m: m.created)
    family = _family(name) if family_fallback else None
    if family:
        same_family = [m for m in models.values() if "claude" in m.id and family in m.id]
        if same_family:
            return max(same_family, key=lambda m: m.created)
    raise ModelNotFound(name, nearest_models(name, models))


class ModelCatalog:
    def __init__(
        self,
        fetch: Callable[[], Awaitable[list[dict[str, Any]]]],
        *,
        ttl_seconds: float,
        aliases: dict[str, str] | None = None,
        family_fallback: bool = True,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._aliases = aliases or {}
        self._family_fallback = family_fallback
        self._models: dict[str, Model] = {}
        self._raw: list[dict[str, Any]] = []
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def models(self) -> dict[str, Model]:
        if time.monotonic() - self._fetched_at < self._ttl:
            return self._models
        async with self._lock:
            if time.monotonic() - self._fetched_at < self._ttl:
                return self._models
            try:
                raw = await self._fetch()
            except Exception:
                if self._models:  # a stale list beats failing every request
                    self._fetched_at = time.monotonic() - self._ttl / 2
                    return self._models
                raise
            self._raw = raw
            self._models = {m.id: m for m in map(_parse_model, raw)}
            self._fetched_at = time.monotonic()
        return self._models

    async def listing(self) -> list[dict[str, Any]]:
        await self.models()
        return self._raw

    async def resolve(self, name: str) -> Model:
        return resolve_model(name, await self.models(), self._aliases, family_fallback=self._family_fallback)
