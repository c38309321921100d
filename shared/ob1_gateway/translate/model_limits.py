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

    @classmethod
    def from_catalog_entry(cls, entry: dict[str, Any]) -> ModelLimits:
        top = entry.get("top_provider")
        cap = top.get("max_completion_tokens") if isinstance(top, dict) else None
        params = entry.get("supported_parameters")
        listed = frozenset(p for p in params if isinstance(p, str)) if isinstance(params, list) else None
        return cls(
            max_output_tokens=cap if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0 else None,
            supported_parameters=listed,
        )

    def supports(self, *parameters: str) -> bool:
        """True when the model lists any of ``parameters``, or lists nothing at all (unknown)."""
        return self.supported_parameters is None or any(p in self.supported_parameters for p in parameters)

    def clamp_output(self, requested: int) -> int:
        return min(requested, self.max_output_tokens) if self.max_output_tokens else requested
