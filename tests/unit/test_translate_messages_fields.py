"""No silent drops on /v1/messages (anthropic 2.16's request fields): each field is translated, refused by
name where ignoring it would change the answer, or a hint with no effect here (and listed as one in the
docs/clients.md's "Anthropic request features" table, which this test reads)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ob1_gateway.translate.anthropic.anthropic_in import InvalidRequest, anthropic_to_chat
from ob1_gateway.translate.model_limits import ModelLimits

README = Path(__file__).resolve().parents[2] / "docs" / "clients.md"
MODEL = "anthropic/claude-sonnet-4.5"
TOOL = {"name": "get_weather", "description": "weather", "input_schema": {"type": "object", "properties": {}}}


def request(**extra: Any) -> dict[str, Any]:
    return {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}], **extra}


def upstream(req: dict[str, Any], limits: ModelLimits | None = None) -> dict[str, Any]:
    return anthropic_to_chat(req, upstream_model=MODEL, limits=limits).body


@pytest.mark.parametrize(
    ("field", "value", "param", "named"),
    [
        ("container", "container_011CZ", "container", "code execution containers"),
        ("container", {"skills": [{"type": "anthropic", "skill_id": "pptx"}]}, "container.skills", "Skills"),
    ],
)
def test_a_container_or_skills_is_refused_by_name(field: str, value: Any, param: str, named: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        upstream(request(**{field: value}))
    assert refused.value.param == param
    assert named in refused.value.message and "not available through this gateway" in refused.value.message


def test_a_tool_only_code_execution_may_call_is_refused_by_name() -> None:
    tool = {**TOOL, "allowed_callers": ["code_execution_20250825"]}
    with pytest.raises(InvalidRequest) as refused:
        upstream(request(tools=[tool]))
    assert refused.value.param == "tools.0.allowed_callers"
    assert "get_weather" in refused.value.message and "code_execution_20250825" in refused.value.message


def test_a_tool_that_allows_direct_calls_is_sent() -> None:
    tool = {**TOOL, "allowed_callers": ["direct", "code_execution_20250825"]}
    [function] = upstream(request(tools=[tool]))["tools"]
    assert function["function"]["name"] == "get_weather"
    assert "allowed_callers" not in function["function"]


@pytest.mark.parametrize(("tier", "sent"), [("auto", "auto"), ("standard_only", "default")])
def test_service_tier_is_translated_for_a_model_that_lists_it(tier: str, sent: str) -> None:
    limits = ModelLimits(supported_parameters=frozenset({"max_tokens", "service_tier"}))
    assert upstream(request(service_tier=tier), limits)["service_tier"] == sent


@pytest.mark.parametrize("tier", ["auto", "standard_only"])
def test_service_tier_is_not_sent_to_a_model_without_tiers(tier: str) -> None:
    """The one tier there is standard: ``standard_only`` asks for it, and ``auto`` falls back to it."""
    limits = ModelLimits(supported_parameters=frozenset({"max_tokens"}))
    assert "service_tier" not in upstream(request(service_tier=tier), limits)


def test_an_unknown_service_tier_is_a_400() -> None:
    with pytest.raises(InvalidRequest) as refused:
        upstream(request(service_tier="priority"))
    assert refused.value.param == "service_tier"


HINTS = [
    ("inference_geo", {"inference_geo": "us"}),
    ("speed", {"speed": "fast"}),
    ("diagnostics", {"diagnostics": {"previous_message_id": "msg_01"}}),
    ("user_profile_id", {"user_profile_id": "uprof_01"}),
    ("input_examples", {"tools": [{**TOOL, "input_examples": [{"city": "Paris"}]}]}),
    ("eager_input_streaming", {"tools": [{**TOOL, "eager_input_streaming": True}]}),
]


@pytest.mark.parametrize(("field", "extra"), HINTS, ids=[h[0] for h in HINTS])
def test_a_hint_is_accepted_not_sent_and_listed_in_the_readme(field: str, extra: dict[str, Any]) -> None:
    plain = upstream(request(tools=[TOOL]) if "tools" in extra else request())
    hinted = upstream(request(**extra))
    assert hinted == plain, f"{field} changed the upstream request"
    assert field not in str(hinted)
    features = README.read_text().split("### Anthropic request features", 1)[1].split("\n#", 1)[0]
    hint_rows = [line for line in features.splitlines() if "hint" in line and "no effect" in line]
    assert any(f"`{field}`" in line for line in hint_rows), f"{field} is not listed as a hint in the README"


@pytest.mark.parametrize(
    ("field", "value"), [("speed", "ludicrous"), ("inference_geo", 1), ("diagnostics", "x")], ids=str
)
def test_a_malformed_hint_is_a_400(field: str, value: Any) -> None:
    with pytest.raises(InvalidRequest) as refused:
        upstream(request(**{field: value}))
    assert refused.value.param == field
