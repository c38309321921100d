"""Token usage, normalised once from the upstream's OpenAI/OpenRouter ``usage`` object.

OpenAI's ``prompt_tokens`` *includes* cached and cache-write tokens; Anthropic's ``input_tokens``
excludes both, so ``Usage.input_tokens`` does the subtraction and both cache fields are always filled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Usage", "usage_from_openai"]


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float | None = None

    @property
    def input_tokens(self) -> int:
        """Anthropic's ``input_tokens``: prompt tokens that were neither read from nor written to cache."""
        return max(self.prompt_tokens - self.cache_read_tokens - self.cache_write_tokens, 0)

    def anthropic(self) -> dict[str, int]:
        """Anthropic's usage object; both cache fields always present (0 when unknown)."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.completion_tokens,
            "cache_creation_input_tokens": self.cache_write_tokens,
            "cache_read_input_tokens": self.cache_read_tokens,
        }


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return max(int(value), 0)


def usage_from_openai(u: dict[str, Any] | None) -> Usage:
    """Read ``prompt_tokens``, ``completion_tokens``, ``prompt_tokens_details.cached_tokens``, the cache
    write count (``cache_write_tokens``, ``prompt_tokens_details.cache_write_tokens`` or
    ``cache_creation_input_tokens``) and ``cost``. Missing or malformed fields count as 0 / None."""
    if not isinstance(u, dict):
        return Usage()
    details = u.get("prompt_tokens_details")
    if not isinstance(details, dict):
        details = {}
    cache_read = _int(details.get("cached_tokens")) or _int(u.get("cache_read_input_tokens"))
    cache_write = (
        _int(u.get("cache_write_tokens"))
        or _int(details.get("cache_write_tokens"))
        or _int(u.get("cache_creation_input_tokens"))
    )
    cost = u.get("cost")
    cost_usd = float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None
    return Usage(
        prompt_tokens=_int(u.get("prompt_tokens")),
        completion_tokens=_int(u.get("completion_tokens")),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cost_usd=cost_usd,
    )
