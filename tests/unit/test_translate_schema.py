"""The request contract (translate/schema.py): one description that validates, names the failing
location, and is what /openapi.json publishes."""

from __future__ import annotations

from typing import Any

import pytest
from ob1_gateway.app import create_app
from ob1_gateway.settings import load_settings
from ob1_gateway.translate.anthropic.anthropic_in import anthropic_to_chat
from ob1_gateway.translate.invalid import InvalidRequest
from ob1_gateway.translate.responses.responses_in import responses_to_chat
from ob1_gateway.translate.schema import (
    AnthropicMessagesRequest,
    ChatCompletionsRequest,
    ResponsesRequest,
    openapi_schema,
    requested_model,
    validate,
)

MESSAGE = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({**MESSAGE, "temperature": 1.5}, "temperature", "less than or equal to 1"),
        ({**MESSAGE, "top_p": -0.1}, "top_p", "greater than or equal to 0"),
        ({**MESSAGE, "max_tokens": "8"}, "max_tokens", "valid integer"),
        ({**MESSAGE, "stream": "yes"}, "stream", "valid boolean"),
        ({**MESSAGE, "messages": [{"role": "user", "content": 3}]}, "messages.0.content", "string or a list"),
        ({**MESSAGE, "stop_sequences": ["a", 1]}, "stop_sequences", "list of strings"),
        ({**MESSAGE, "tools": [{"description": "no name"}]}, "tools.0.name", "Field required"),
    ],
)
def test_anthropic_contract_names_the_location(body: dict[str, Any], param: str, fragment: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        anthropic_to_chat(body, upstream_model="m")
    assert info.value.param == param
    assert info.value.message.startswith(f"{param}: ") and fragment in info.value.message


def test_unknown_fields_are_open() -> None:
    body = {**MESSAGE, "a_field_from_next_year": {"x": 1}, "temperature": 1}
    validate(AnthropicMessagesRequest, body)
    validate(ChatCompletionsRequest, {"model": "m", "messages": [{"role": "user", "content": None}], "n": 2})
    assert anthropic_to_chat(body, upstream_model="m").body["temperature"] == 1


def test_responses_params_use_openai_brackets() -> None:
    with pytest.raises(InvalidRequest) as info:
        responses_to_chat({"model": "m", "input": "hi", "include": ["x", 2]}, upstream_model="m")
    assert info.value.param == "include"
    with pytest.raises(InvalidRequest) as info:
        validate(ResponsesRequest, {"model": "m", "input": "hi", "tools": ["x"]}, brackets=True)
    assert info.value.param == "tools[0]"


def test_requested_model_is_the_first_check() -> None:
    assert requested_model({"model": "claude", "messages": 3}) == "claude"
    with pytest.raises(InvalidRequest) as info:
        requested_model({"model": "", "messages": []})
    assert info.value.param == "model"


def test_openapi_is_generated_from_the_contract(tmp_path: Any) -> None:
    """The drift the hand-written schema had: it said Anthropic temperature ≤ 1 and nothing enforced it."""
    spec = create_app(load_settings(home=tmp_path / "home")).openapi()
    published = spec["paths"]["/v1/messages"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    contract = openapi_schema(AnthropicMessagesRequest)
    assert set(published["properties"]) == set(contract["properties"]) and published["required"] == contract["required"]
    temperature = published["properties"]["temperature"]["anyOf"][0]
    assert (temperature["minimum"], temperature["maximum"]) == (0, 1)
    assert "$ref" not in str(published)
    chat = spec["paths"]["/v1/chat/completions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert chat["properties"]["messages"]["items"]["properties"]["role"]["enum"][0] == "system"
