"""The request contract of the three APIs, as pydantic models: the one description of a request's shape.

The translators validate every body against these first (``validate``), the chat completions route does
the same, and the OpenAPI document is generated from them (``openapi_schema``). A failure is an
``InvalidRequest`` whose ``param`` is the location pydantic found it at (``messages.0.role``; OpenAI's
``input[0]`` style for the Responses API).

The models name what the gateway relies on and stay open to every other field (``extra="allow"``): the
APIs grow faster than any copy of them, and unknown fields are passed on or ignored by the translators,
as the real APIs' own SDKs expect. Types are strict (JSON has no ``"16"`` for 16). What depends on more
than a field's own shape (which blocks a role may carry, what a model supports) stays in the
translators.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema

from .invalid import InvalidRequest

__all__ = [
    "AnthropicCountTokensRequest",
    "AnthropicMessagesRequest",
    "ChatCompletionsRequest",
    "ResponsesRequest",
    "openapi_schema",
    "requested_model",
    "validate",
]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


def _text_or_list(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return _typed_each(value, "")
    raise ValueError("must be a string or a list of content blocks")


def _text_or_list_or_null(value: Any) -> Any:
    return value if value is None else _text_or_list(value)


def _strings(value: Any) -> Any:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ValueError("must be a list of strings")


def _string_or_strings(value: Any) -> Any:
    return value if isinstance(value, str) else _strings(value)


def _input(value: Any) -> Any:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, list) and value:
        _typed_each(value, "")
        for i, item in enumerate(value):
            content = item.get("content") if isinstance(item, dict) else None
            if isinstance(content, list):
                _typed_each(content, f"[{i}].content")
        return value
    raise ValueError("must be a non-empty string or a non-empty list of items")


# What a ``type`` discriminator may be: every type the APIs define has this shape, and a type is quoted in
# errors and headers, so anything else (a list, control characters, non-ASCII) is refused before it is used.
TYPE_NAME = re.compile(r"[a-z0-9_]{1,64}")


def _typed_each(values: list[Any], where: str) -> list[Any]:
    """``values``, each object's ``type`` (where it has one) checked against ``TYPE_NAME``."""
    for i, value in enumerate(values):
        if isinstance(value, dict) and "type" in value:
            kind = value["type"]
            if not isinstance(kind, str) or not TYPE_NAME.fullmatch(kind):
                raise ValueError(
                    f"{where}[{i}].type must name a block type or item type (lowercase letters, digits, _)"
                )
    return values


def _type_name(value: Any) -> Any:
    if isinstance(value, str) and TYPE_NAME.fullmatch(value):
        return value
    raise ValueError("must be a type name (lowercase letters, digits, _)")


_BLOCK = {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}}
_BLOCKS = {"type": "array", "items": _BLOCK}
_STRINGS = {"type": "array", "items": {"type": "string"}}
TextOrBlocks = Annotated[Any, AfterValidator(_text_or_list), WithJsonSchema({"anyOf": [{"type": "string"}, _BLOCKS]})]
TextOrBlocksOrNull = Annotated[
    Any,
    AfterValidator(_text_or_list_or_null),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array"}, {"type": "null"}]}),
]
Strings = Annotated[Any, AfterValidator(_strings), WithJsonSchema(_STRINGS)]
StringOrStrings = Annotated[
    Any, AfterValidator(_string_or_strings), WithJsonSchema({"anyOf": [{"type": "string"}, _STRINGS]})
]
NonEmptyStr = Annotated[str, Field(min_length=1)]
TypeName = Annotated[Any, AfterValidator(_type_name), WithJsonSchema({"type": "string", "pattern": "^[a-z0-9_]+$"})]
PositiveInt = Annotated[int, Field(ge=1)]
UnitInterval = Annotated[float, Field(ge=0, le=1)]
Temperature = Annotated[float, Field(ge=0, le=2)]
Object = dict[str, Any]


_HI = [{"role": "user", "content": "Hi"}]


def _example(body: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"example": body})


class Named(_Open):
    """What every request names first: its model (the routes resolve it before anything else)."""

    model: NonEmptyStr


# ---- Anthropic Messages -----------------------------------------------------------------------------------
class AnthropicMessage(_Open):
    # "system" inside messages: Claude Code sends it (it becomes a system message at its position)
    role: Literal["user", "assistant", "system"]
    content: TextOrBlocks


class AnthropicTool(_Open):
    type: TypeName | None = None
    name: NonEmptyStr
    description: str | None = None
    input_schema: Object | None = None
    allowed_callers: Strings | None = None
    input_examples: list[Object] | None = None  # a hint here (docs/clients.md)
    eager_input_streaming: bool | None = None  # a hint here (docs/clients.md)


class AnthropicCountTokensRequest(Named):
    messages: Annotated[list[AnthropicMessage], Field(min_length=1)]
    system: TextOrBlocks | None = None
    tools: list[AnthropicTool] | None = None
    tool_choice: Object | None = None
    thinking: Object | None = None
    output_config: Object | None = None
    model_config = _example({"model": "claude-sonnet-4-5", "messages": _HI})


class AnthropicMessagesRequest(AnthropicCountTokensRequest):
    max_tokens: PositiveInt
    stream: bool | None = None
    temperature: UnitInterval | None = None
    top_p: UnitInterval | None = None
    top_k: Annotated[int, Field(ge=0)] | None = None
    stop_sequences: Strings | None = None
    metadata: Object | None = None
    service_tier: Literal["auto", "standard_only"] | None = None
    container: Any = None  # refused by name (anthropic_in)
    # hints with no effect here (docs/clients.md, "Anthropic request features")
    inference_geo: str | None = None
    speed: Literal["standard", "fast"] | None = None
    diagnostics: Object | None = None
    user_profile_id: str | None = None
    model_config = _example({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": _HI})


# ---- OpenAI chat completions and Responses -------------------------------------------------------------------
class OpenAITool(_Open):
    type: TypeName


class _OpenAIRequest(Named):
    """What both OpenAI request shapes name alike."""

    stream: bool | None = None
    stream_options: Object | None = None
    temperature: Temperature | None = None
    top_p: UnitInterval | None = None
    tools: list[OpenAITool] | None = None
    user: str | None = None


class ChatMessage(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: TextOrBlocksOrNull = None
    tool_calls: list[Object] | None = None
    tool_call_id: str | None = None


class ChatCompletionsRequest(_OpenAIRequest):
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    max_tokens: PositiveInt | None = None
    max_completion_tokens: PositiveInt | None = None
    stop: StringOrStrings | None = None
    model_config = _example({"model": "gpt-4o-mini", "messages": _HI})


class ResponsesRequest(_OpenAIRequest):
    input: Annotated[
        Any, AfterValidator(_input), WithJsonSchema({"anyOf": [{"type": "string", "minLength": 1}, {"type": "array"}]})
    ]
    instructions: str | None = None
    max_output_tokens: PositiveInt | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Object | None = None
    text: Object | None = None
    include: Strings | None = None
    store: bool | None = None
    metadata: Object | None = None
    model_config = _example({"model": "gpt-4o-mini", "input": "Hi"})


# ---- validation and the OpenAPI document --------------------------------------------------------------------
def _param(loc: tuple[int | str, ...], brackets: bool) -> str:
    param = ""
    for part in loc:
        if isinstance(part, int):
            param += f"[{part}]" if brackets else f".{part}"
        else:
            param += f".{part}" if param else part
    return param


def validate(model: type[BaseModel], body: dict[str, Any], *, brackets: bool = False) -> None:
    """``body`` fits ``model``, or the ``InvalidRequest`` for its first problem (``brackets``: OpenAI's
    ``input[0].content`` style for ``param``, instead of Anthropic's ``messages.0.content``)."""
    try:
        model.__pydantic_validator__.validate_python(body)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_context=False, include_input=False)[0]
        param = _param(tuple(error["loc"]), brackets)
        message = error["msg"].removeprefix("Value error, ")
        raise InvalidRequest(f"{param}: {message}" if param else message, param or None) from None


def requested_model(body: dict[str, Any]) -> str:
    """The model a body names (``Named``'s contract), before the rest of it is looked at."""
    validate(Named, body)
    model: str = body["model"]
    return model


def openapi_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON Schema with its definitions inlined (a route's ``openapi_extra`` cannot add
    components, so ``$ref``s to them would dangle)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(definitions[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined
