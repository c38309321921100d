"""Model resolution: exact ids, Anthropic-style ids, aliases, family fallback, and the TTL cache."""

from __future__ import annotations

import asyncio

import pytest
from ob1_gateway.upstream.catalog import ModelCatalog, ModelNotFound, resolve_model

LISTING = [
    {"id": "anthropic/claude-sonnet-4.5", "created": 1759000000, "pricing": {"prompt": "0.000003"}},
    {"id": "anthropic/claude-sonnet-4", "created": 1747000000},
    {"id": "anthropic/claude-opus-4.1", "created": 1754000000},
    {"id": "anthropic/claude-3.5-haiku", "created": 1730000000},
    {"id": "anthropic/claude-haiku-4.5", "created": 1760000000},
    {"id": "anthropic/claude-3.7-sonnet", "created": 1740000000},
    {"id": "openai/gpt-4o-mini", "created": 1721000000},
]


def _catalog(aliases: dict[str, str] | None = None) -> ModelCatalog:
    async def fetch() -> list[dict]:
        return LISTING

    return ModelCatalog(fetch, ttl_seconds=60, aliases=aliases)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("anthropic/claude-sonnet-4.5", "anthropic/claude-sonnet-4.5"),
        ("claude-sonnet-4.5", "anthropic/claude-sonnet-4.5"),
        ("claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4.5"),
        ("claude-sonnet-4-5", "anthropic/claude-sonnet-4.5"),
        ("claude-sonnet-4-20250514", "anthropic/claude-sonnet-4"),
        ("claude-3-5-haiku-latest", "anthropic/claude-3.5-haiku"),
        ("claude-3-5-haiku-20241022", "anthropic/claude-3.5-haiku"),
        ("claude-3-7-sonnet-latest", "anthropic/claude-3.7-sonnet"),
        ("claude-opus-4-1-20250805", "anthropic/claude-opus-4.1"),
        ("claude-haiku-4-5", "anthropic/claude-haiku-4.5"),
        ("gpt-4o-mini", "openai/gpt-4o-mini"),
        # Family fallback: an unknown Claude version goes to the newest model of its family.
        ("claude-opus-4-7", "anthropic/claude-opus-4.1"),
        ("claude-sonnet-9", "anthropic/claude-sonnet-4.5"),
        ("claude-haiku-9-9-20300101", "anthropic/claude-haiku-4.5"),
    ],
)
def test_resolution(requested: str, expected: str) -> None:
    assert asyncio.run(_catalog().resolve(requested)).id == expected


def test_alias_wins() -> None:
    catalog = _catalog({"fast": "claude-3-5-haiku-latest", "claude-sonnet-4-5": "anthropic/claude-opus-4.1"})
    assert asyncio.run(catalog.resolve("fast")).id == "anthropic/claude-3.5-haiku"
    assert asyncio.run(catalog.resolve("claude-sonnet-4-5")).id == "anthropic/claude-opus-4.1"


def test_unknown_model_names_itself() -> None:
    with pytest.raises(ModelNotFound, match="no-such-model"):
        asyncio.run(_catalog().resolve("no-such-model"))


def test_pricing_is_parsed_to_floats() -> None:
    model = asyncio.run(_catalog().resolve("claude-sonnet-4.5"))
    assert model.pricing == {"prompt": 0.000003}


def test_list_is_fetched_once_per_ttl_even_under_concurrency() -> None:
    calls = 0

    async def fetch() -> list[dict]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return LISTING

    async def run() -> None:
        catalog = ModelCatalog(fetch, ttl_seconds=60)
        await asyncio.gather(*(catalog.resolve("claude-sonnet-4-5") for _ in range(50)))
        await catalog.resolve("gpt-4o-mini")

    asyncio.run(run())
    assert calls == 1


def test_stale_list_serves_when_refresh_fails() -> None:
    state = {"fail": False, "calls": 0}

    async def fetch() -> list[dict]:
        state["calls"] += 1
        if state["fail"]:
            raise RuntimeError("upstream down")
        return LISTING

    async def run() -> str:
        catalog = ModelCatalog(fetch, ttl_seconds=0.001)
        await catalog.models()
        state["fail"] = True
        await asyncio.sleep(0.01)
        return (await catalog.resolve("claude-opus-4-1")).id

    assert asyncio.run(run()) == "anthropic/claude-opus-4.1"
    assert state["calls"] == 2


def test_direct_resolve_without_catalog() -> None:
    models = {"x/y": __import__("ob1_gateway.upstream.catalog", fromlist=["Model"]).Model(id="x/y")}
    assert resolve_model("y", models, {}).id == "x/y"
