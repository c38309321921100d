"""What an upstream refusal means, read from its words, so each client gets it in the words its recovery
matches (``../shared/DESIGN.md`` §12): a context overflow (Anthropic's ``prompt is too long: N tokens > M
maximum``, OpenAI's ``code: "context_length_exceeded"``) and a refusal of system messages after the first turn
(the one 400 worth sending again with them merged).

The upstream (OpenRouter-style) words an overflow its own way, and a provider's raw text can come through
instead; the phrasings below are the ones OpenRouter, OpenAI, Anthropic, Google, Mistral, DeepSeek, Bedrock and
vLLM-style servers use. The numbers are taken when the text gives them; the caller fills in what it knows
(the catalog's context length, the local estimate) when it does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CAPABILITY_REJECTED",
    "CONTEXT_LENGTH_EXCEEDED",
    "ContextOverflow",
    "about_system_messages",
    "context_overflow",
]

CAPABILITY_REJECTED = "capability_rejected"
"""The marker Claude Code looks for in a gateway's own 400: ``capability_rejected: <class>`` (its classes:
``structured_outputs_unsupported``, ``thinking_type:<type>``, ``effort_unsupported``, ``cache_control_field``,
``mid_conv_system``, ``thinking_signature``, ``media_budget``, ``beta_header:<value>``) makes it drop that feature
and send the request again."""

CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded"
"""OpenAI's error code for an overflow (chat completions and Responses); Codex compacts on it."""

_NUMBER = r"(\d[\d,]*)"


def _phrase(*parts: str) -> re.Pattern[str]:
    return re.compile("".join(parts).replace("N", _NUMBER), re.I | re.S)


# (requested, maximum) in the order each phrasing gives them ("rm", "mr"; "m": the maximum only).
_WITH_NUMBERS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Anthropic: "prompt is too long: 250123 tokens > 200000 maximum"
    (_phrase(r"prompt is too long:?\s*N\s*tokens?\s*>\s*N"), "rm"),
    # OpenRouter / OpenAI / DeepSeek / vLLM: "maximum context length is 200000 tokens. However, you requested
    # about 250123 tokens" / "… your messages resulted in 130000 tokens"
    (_phrase(r"maximum context length is\s*N\s*tokens?.{0,40}?(?:requested(?: about)?|resulted in)\s*N"), "mr"),
    # Google: "The input token count (250123) exceeds the maximum number of tokens allowed (200000)"
    (_phrase(r"input token count \(?N\)?\s*exceeds the maximum number of tokens allowed \(?N"), "rm"),
    # Mistral / vLLM: "Prompt contains 40000 tokens … too large for model with 32768 maximum context length"
    (_phrase(r"prompt contains\s*N\s*tokens.{0,60}?with\s*N\s*maximum context length"), "rm"),
    # "The model's maximum context length is 32768 tokens." (no figure for the prompt)
    (_phrase(r"maximum context length is\s*N"), "m"),
)
_WITHOUT_NUMBERS = re.compile(
    r"context[_ ]length[_ ]exceeded|maximum context length|context window|context length exceeded"
    r"|prompt is too long|input is too long|too many (?:input )?tokens|reduce the length of the (?:messages|prompt)"
    r"|exceeds? the (?:model's )?(?:maximum )?context",
    re.I,
)
# Anthropic's max_tokens overflow ("input length and `max_tokens` exceed context limit: I + M > C") is not an
# overflow of the prompt: Claude Code lowers max_tokens on those words, so they stay as they are.
_OUTPUT_OVERFLOW = re.compile(r"input length and `?max_tokens`? exceed context limit", re.I)
_SYSTEM_MESSAGES = re.compile(r"\bsystem\b.{0,80}?\b(?:message|prompt|role)s?\b|\brole\b.{0,20}\bsystem\b", re.I | re.S)


@dataclass(frozen=True)
class ContextOverflow:
    """A prompt longer than the model's context: ``requested`` and ``maximum`` tokens when the upstream said."""

    requested: int | None
    maximum: int | None

    def anthropic_message(self, estimate: int, context_length: int | None) -> str:
        """Anthropic's own words, which Claude Code sizes its compaction from. Missing numbers come from the
        local ``estimate`` and the catalog's ``context_length``; the requested figure is never shown below the
        maximum (the estimate can be low, the upstream's refusal says it is over)."""
        maximum = self.maximum or context_length
        requested = self.requested or estimate
        if maximum is None:
            return f"prompt is too long: {requested} tokens"
        return f"prompt is too long: {max(requested, maximum + 1)} tokens > {maximum} maximum"


def context_overflow(message: str) -> ContextOverflow | None:
    """The overflow ``message`` reports, or None when it reports something else."""
    if _OUTPUT_OVERFLOW.search(message):
        return None
    for pattern, order in _WITH_NUMBERS:
        match = pattern.search(message)
        if match is None:
            continue
        numbers = [int(group.replace(",", "")) for group in match.groups()]
        if order == "rm":
            return ContextOverflow(requested=numbers[0], maximum=numbers[1])
        if order == "mr":
            return ContextOverflow(requested=numbers[1], maximum=numbers[0])
        return ContextOverflow(requested=None, maximum=numbers[0])
    if _WITHOUT_NUMBERS.search(message):
        return ContextOverflow(requested=None, maximum=None)
    return None


def about_system_messages(message: str) -> bool:
    """Whether a 400's ``message`` is about system messages (where they stand, or that there are several):
    the only refusal a merge of them can cure."""
    return _SYSTEM_MESSAGES.search(message) is not None
