"""What the upstream catalog says a model accepts, as plain data the translators can act on.

The catalog entry is OpenRouter's (``top_provider.max_completion_tokens``, ``supported_parameters``).
A field the upstream does not list is ``None``: unknown, so nothing is clamped or refused on its account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ModelLimits"]


@dataclass(frozen=True)
class ModelLimits:
    max_output_tokens: int | None = None
    supported_parameters: frozenset[str] | None = None
    context_length: int | None = None

    @classmethod
    def from_catalog_entry(cls, entry: dict[str, Any]) -> ModelLimits:
        top = entry.get("top_provider")
        cap = top.get("max_completion_tokens") if isinstance(top, dict) else None
        params = entry.get("supported_parameters")
        listed = frozenset(p for p in params if isinstance(p, str)) if isinstance(params, list) else None
        context = entry.get("context_length")
        if not _positive(context) and isinstance(top, dict):
            context = top.get("context_length")
        return cls(
            max_output_tokens=cap if _positive(cap) else None,
            supported_parameters=listed,
            context_length=context if _positive(context) else None,
        )

    def supports(self, *parameters: str) -> bool:
        """True when the model lists any of ``parameters``, or lists nothing at all (unknown)."""
        return self.supported_parameters is None or any(p in self.supported_parameters for p in parameters)

    def clamp_output(self, requested: int) -> int:
        return min(requested, self.max_output_tokens) if self.max_output_tokens else requested


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
