"""Upstream refusals read from their words: overflows in every phrasing the upstream and its providers use,
and the one 400 (system messages after the first turn) worth sending again."""

from __future__ import annotations

from typing import Any

import pytest
from ob1_gateway.translate.anthropic.anthropic_in import anthropic_to_chat
from ob1_gateway.translate.invalid import InvalidRequest
from ob1_gateway.translate.model_limits import ModelLimits
from ob1_gateway.translate.upstream_refusals import ContextOverflow, about_system_messages, context_overflow

OVERFLOWS = [
    (
        "openrouter",
        "This endpoint's maximum context length is 200000 tokens. However, you requested about 250123 tokens "
        "(250000 of text input, 123 of tool input, 0 in the output). Please reduce the length of either one, or use "
        'the "middle-out" transform to compress your prompt automatically.',
        ContextOverflow(250123, 200000),
    ),
    (
        "openai",
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 130,512 tokens. "
        "Please reduce the length of the messages.",
        ContextOverflow(130512, 128000),
    ),
    ("anthropic", "prompt is too long: 250123 tokens > 200000 maximum", ContextOverflow(250123, 200000)),
    (
        "openrouter_wrapping_anthropic",
        "Provider returned error: prompt is too long: 210000 tokens > 200000 maximum",
        ContextOverflow(210000, 200000),
    ),
    (
        "google",
        "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576).",
        ContextOverflow(1048577, 1048576),
    ),
    (
        "mistral",
        "Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length",
        ContextOverflow(40000, 32768),
    ),
    ("vllm_max_only", "The model's maximum context length is 32768 tokens.", ContextOverflow(None, 32768)),
    ("code_only", "context_length_exceeded", ContextOverflow(None, None)),
    ("bedrock", "Input is too long for requested model.", ContextOverflow(None, None)),
    ("window", "The request exceeds the context window of this model", ContextOverflow(None, None)),
]


@pytest.mark.parametrize(("message", "expected"), [c[1:] for c in OVERFLOWS], ids=[c[0] for c in OVERFLOWS])
def test_each_phrasing_is_an_overflow_with_its_numbers(message: str, expected: ContextOverflow) -> None:
    assert context_overflow(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        "input length and `max_tokens` exceed context limit: 190000 + 32000 > 200000, decrease input length or "
        "`max_tokens` and try again",  # Claude Code lowers max_tokens on these words: they stay as they are
        "messages.1.content.0.cache_control: Extra inputs are not permitted",
        "Invalid value for 'temperature': must be between 0 and 2",
        "System messages are only allowed at the beginning of the conversation",
        "upstream returned 400",
    ],
)
def test_other_refusals_are_not_overflows(message: str) -> None:
    assert context_overflow(message) is None


def test_anthropic_words_fill_in_what_the_upstream_left_out() -> None:
    said = ContextOverflow(250123, 200000)
    assert said.anthropic_message(estimate=1, context_length=1) == "prompt is too long: 250123 tokens > 200000 maximum"
    unsaid = ContextOverflow(None, None)
    assert unsaid.anthropic_message(estimate=230000, context_length=200000) == (
        "prompt is too long: 230000 tokens > 200000 maximum"
    )
    # a low estimate is never shown under the maximum: the upstream said it is over
    assert unsaid.anthropic_message(estimate=150000, context_length=200000) == (
        "prompt is too long: 200001 tokens > 200000 maximum"
    )
    assert unsaid.anthropic_message(estimate=7, context_length=None) == "prompt is too long: 7 tokens"


@pytest.mark.parametrize(
    ("message", "about"),
    [
        ("System messages are only allowed at the beginning of the conversation", True),
        ("Unexpected role 'system' after role 'user'", True),
        ("System role not supported", True),
        ("system prompt must come first", True),
        ("messages.1.content.0.cache_control: Extra inputs are not permitted", False),
        ("This endpoint's maximum context length is 200000 tokens. However, you requested about 250123", False),
        ("Provider returned error", False),
    ],
)
def test_only_a_refusal_about_system_messages_is_worth_a_merge(message: str, about: bool) -> None:
    assert about_system_messages(message) is about


@pytest.mark.parametrize(
    ("fields", "marker"),
    [
        (
            {"output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}},
            "capability_rejected: structured_outputs_unsupported",
        ),
        ({"thinking": {"type": "interleaved"}}, "capability_rejected: thinking_type:interleaved"),
    ],
)
def test_the_gateways_own_capability_refusals_name_the_class_claude_code_drops(
    fields: dict[str, Any], marker: str
) -> None:
    """Claude Code strips a feature and sends again when a gateway's own 400 says ``capability_rejected: <class>``."""
    request = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}], **fields}
    no_structured_outputs = ModelLimits(supported_parameters=frozenset({"max_tokens", "reasoning"}))
    with pytest.raises(InvalidRequest) as caught:
        anthropic_to_chat(request, upstream_model="acme/model-1", limits=no_structured_outputs)
    assert marker in caught.value.message
