"""What a request cost: the upstream's own ``usage.cost`` first, else tokens × the model's listed
pricing, else the configured table (USD per million tokens)."""

from __future__ import annotations

from ..translate.token_usage import Usage

# OpenRouter pricing keys (USD per token) for each token kind.
_LISTED = {
    "input": "prompt",
    "output": "completion",
    "cache_read": "input_cache_read",
    "cache_write": "input_cache_write",
}


def _from_rates(usage: Usage, per_token: dict[str, float]) -> float:
    input_rate = per_token.get("input", 0.0)
    return (
        usage.input_tokens * input_rate
        + usage.completion_tokens * per_token.get("output", 0.0)
        + usage.cache_read_tokens * per_token.get("cache_read", input_rate)
        + usage.cache_write_tokens * per_token.get("cache_write", input_rate)
    )


def cost_usd(
    usage: Usage,
    listed_pricing: dict[str, float] | None,
    table_per_million: dict[str, float] | None = None,
) -> float:
    if usage.cost_usd is not None:
        return usage.cost_usd
    if listed_pricing and any(listed_pricing.get(key) for key in _LISTED.values()):
        return _from_rates(usage, {kind: listed_pricing[key] for kind, key in _LISTED.items() if key in listed_pricing})
    if table_per_million:
        return _from_rates(usage, {kind: rate / 1_000_000 for kind, rate in table_per_million.items()})
    return 0.0


def to_micros(usd: float) -> int:
    return round(usd * 1_000_000)


def format_usd(amount: float) -> str:
    """Money as people read it, to the precision it has: ``$12.50``, ``$0.004`` and ``$1.234`` (not ``$0.00`` and
    ``$1.23``), to the micro-dollar at most."""
    text = f"{amount:,.6f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"
