"""Anthropic Messages request -> OpenAI/OpenRouter chat-completions request.

Decisions (each covered by a test):
- ``cache_control`` is kept on system/message/tool-result parts only when the upstream model is a
  Claude model (``"claude"`` in its id); other providers reject or ignore it, so it is stripped. A
  top-level ``cache_control`` (automatic caching) becomes a breakpoint on the last content part.
- System blocks become one system message: a list of text parts for Claude models (so cache_control
  survives), otherwise the texts joined with a blank line. A ``role: "system"`` message inside
  ``messages`` (Claude Code sends one after the first user turn) becomes a system message at its
  position; ``system_hoist`` merges them into the leading one for upstreams that refuse that.
- A ``tool_result`` becomes a ``tool`` message; all tool messages of a user turn come first, in block
  order, then one user message with the images found inside tool results followed by the turn's
  sibling text/images. ``is_error: true`` is kept visibly by prefixing the content with
  ``[tool error] ``. A ``tool_reference`` inside it (ToolSearch) becomes a line of text naming the
  loaded tool, whose definition is then sent (see ``anthropic_tools``).
- ``thinking``: enabled -> ``reasoning.max_tokens = budget_tokens`` (kept below ``max_tokens``);
  adaptive (or an ``effort``) -> ``reasoning.effort``, the nearest of OpenRouter's levels (an unknown
  level is clamped to ``high``, never refused); adaptive without effort -> ``reasoning.enabled = true``;
  disabled -> ``reasoning.enabled = false``.
- ``max_tokens`` above the model's catalog limit is clamped to it (the upstream would refuse it).
- Structured outputs (``output_config.format`` json_schema) -> ``response_format`` json_schema, or a
  400 when the catalog says the model cannot.
- Signed thinking and redacted thinking are replayed in ``reasoning_details``; unsigned thinking is
  dropped (a signature is never invented).
- Documents with ``source.type: content`` and ``search_result`` blocks become text; files by id (the
  Files API) are refused: the gateway keeps no files.
- ``context_management`` edits are applied to the request first (``context_edits``).
- ``container`` (code execution containers, and the Skills they load) is refused by name, like
  ``mcp_servers`` and server tools: it runs on Anthropic's servers. So is a tool whose
  ``allowed_callers`` does not include direct calls (only code execution would call it).
- ``service_tier`` goes upstream (``auto`` → ``auto``, ``standard_only`` → ``default``) when the model's
  catalog entry lists ``service_tier``; otherwise the one tier here is the standard one, which both values
  allow. ``inference_geo``, ``speed``, ``diagnostics``, ``user_profile_id`` and the tool fields
  ``input_examples``, ``eager_input_streaming`` are hints with no effect here (docs/clients.md, "Anthropic request
  features").
- With the gateway running web tools (``web``), ``web_search_*`` / ``web_fetch_*`` tools become ``ChatPlan.web``
  (the loop offers its own functions). Earlier turns' ``server_tool_use`` blocks and their
  ``web_search_tool_result`` / ``web_fetch_tool_result`` are sent back as the function call and its result (the
  text the model read, from our ``encrypted_content``) when the tool is offered again, else as text.
- Unknown *request* fields are ignored; unknown *content block* types are an InvalidRequest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..chat.chat_fields import with_usage
from ..invalid import InvalidRequest
from ..model_limits import ModelLimits
from ..schema import AnthropicMessagesRequest, validate
from ..tool_names import ToolNameMap
from ..upstream_refusals import CAPABILITY_REJECTED
from ..web_tools import SealBudget, WebTools, refuse_name_clash
from .anthropic_tools import loaded_tool_names, tools_to_functions, web_tools_of
from .context_edits import apply_context_edits
from .web_blocks import web_call_text, web_result_text

__all__ = ["ChatPlan", "InvalidRequest", "anthropic_to_chat"]

TOOL_ERROR_PREFIX = "[tool error] "
# OpenRouter's effort levels, lowest first; Anthropic's names map onto the nearest of them.
_EFFORT_SCALE = ("none", "minimal", "low", "medium", "high", "xhigh")
_EFFORT_ALIASES = {"max": "xhigh"}
_UNKNOWN_EFFORT = "high"
_USER_BLOCKS = frozenset({"text", "image", "document", "search_result", "tool_result"})
_WEB_RESULT_BLOCKS = frozenset({"web_search_tool_result", "web_fetch_tool_result"})
_ASSISTANT_BLOCKS = (
    frozenset({"text", "tool_use", "thinking", "redacted_thinking", "server_tool_use"}) | _WEB_RESULT_BLOCKS
)
_TOOL_RESULT_BLOCKS = frozenset({"text", "image", "document", "search_result", "tool_reference"})
_SERVICE_TIERS = {"auto": "auto", "standard_only": "default"}  # Anthropic's names → OpenAI/OpenRouter's
_FILES_API = "the Files API is not supported by this gateway (it keeps no files): send the content as base64 or a URL"


@dataclass
class ChatPlan:
    """The upstream body plus what the response path needs to translate back."""

    body: dict[str, Any]
    tool_names: ToolNameMap = field(default_factory=ToolNameMap)
    stop_sequences: list[str] = field(default_factory=list)
    stream: bool = False
    model: str = ""
    web: WebTools = field(default_factory=WebTools)  # the web tools the gateway runs for this request


def anthropic_to_chat(
    req: dict[str, Any],
    *,
    upstream_model: str,
    limits: ModelLimits | None = None,
    web: frozenset[str] = frozenset(),
) -> ChatPlan:
    """``web``: the gateway's web functions that are on (``web_search``, ``web_fetch``); other server tools are
    refused by name."""
    if not isinstance(req, dict):
        raise InvalidRequest("request body must be a JSON object")
    validate(AnthropicMessagesRequest, req)
    return _Builder(apply_context_edits(req), upstream_model, limits or ModelLimits(), web).build()


class _Builder:
    def __init__(self, req: dict[str, Any], upstream_model: str, limits: ModelLimits, web: frozenset[str]) -> None:
        self.req = req
        self.upstream_model = upstream_model
        self.limits = limits
        self.claude = "claude" in upstream_model.lower()
        self.names = ToolNameMap()
        self.web_on = web
        self.web = web_tools_of(req.get("tools"), web)
        self._answered: set[str] = set()  # the web tool results of the assistant message being read
        self._sealed = SealBudget()  # what the request's sealed web results may inflate to, all together

    def build(self) -> ChatPlan:
        """Refusals of what the gateway cannot offer first, then the messages, then each group of fields."""
        req = self.req  # its shape is AnthropicMessagesRequest's (schema.py)
        _refuse_unoffered(req)
        requested_max: int = req["max_tokens"]
        max_tokens = self.limits.clamp_output(requested_max)
        stops = self._stop_sequences(req.get("stop_sequences"))
        body: dict[str, Any] = {"model": self.upstream_model, "messages": self._messages(), "max_tokens": max_tokens}
        body |= self._sampling(stops)
        body |= self._tools()
        body |= self._output(requested_max, max_tokens)
        stream = req.get("stream") is True
        return ChatPlan(
            body=with_usage(body, stream),
            tool_names=self.names,
            stop_sequences=stops,
            stream=stream,
            model=req["model"],
            web=self.web,
        )

    def _messages(self) -> list[dict[str, Any]]:
        """The system prompt and the messages, at least one of them not a system message."""
        messages: list[dict[str, Any]] = []
        system = self._system(self.req.get("system"), "system")
        if system is not None:
            messages.append(system)
        for i, msg in enumerate(self.req["messages"]):
            messages.extend(self._message(msg, f"messages.{i}"))
        if all(m["role"] == "system" for m in messages):
            raise InvalidRequest("messages: at least one message with role 'user' is required", "messages")
        if self.claude and isinstance(self.req.get("cache_control"), dict):
            _cache_last_part(messages, self.req["cache_control"])
        return messages

    def _sampling(self, stops: list[str]) -> dict[str, Any]:
        """Sampling, stop sequences, the end user and the service tier, as chat names them."""
        req = self.req
        fields: dict[str, Any] = {}
        for key in ("temperature", "top_p", "top_k"):
            value = req.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                fields[key] = value
        if stops:
            fields["stop"] = stops
        metadata = req.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str) and metadata["user_id"]:
            fields["user"] = metadata["user_id"]
        tier = req.get("service_tier")
        if tier is not None and "service_tier" in (self.limits.supported_parameters or ()):
            fields["service_tier"] = _SERVICE_TIERS[tier]
        return fields

    def _tools(self) -> dict[str, Any]:
        """The tools as functions (a deferred tool only once it is loaded or forced) and the tool choice."""
        choice = self.req.get("tool_choice")
        forced = choice.get("name") if isinstance(choice, dict) and isinstance(choice.get("name"), str) else None
        loaded = loaded_tool_names(self.req["messages"]) | ({forced} if forced else set())
        tools = tools_to_functions(self.req.get("tools"), self.names, loaded=loaded, web=self.web_on)
        refuse_name_clash(tools, self.web)
        if not tools and not self.web:
            return {}
        fields: dict[str, Any] = {"tools": tools} if tools else {}
        self._tool_choice(choice, fields)
        return fields

    def _output(self, requested_max: int, max_tokens: int) -> dict[str, Any]:
        """Thinking as ``reasoning`` (a budget scaled down with a clamped ``max_tokens``) and the output
        format as ``response_format``."""
        output_config = self.req.get("output_config") or {}
        fields: dict[str, Any] = {}
        reasoning = self._reasoning(self.req.get("thinking"), output_config)
        if reasoning is not None:
            budget = reasoning.get("max_tokens")
            if budget is not None and max_tokens < requested_max and budget >= max_tokens:
                # keep the client's share of thinking, below the clamped limit
                reasoning["max_tokens"] = max(min(budget * max_tokens // requested_max, max_tokens - 1), 1)
            fields["reasoning"] = reasoning
        response_format = self._response_format(self.req.get("output_format") or output_config.get("format"))
        if response_format is not None:
            fields["response_format"] = response_format
        return fields

    # -- top-level fields -------------------------------------------------------------------------

    def _system(self, system: Any, path: str) -> dict[str, Any] | None:
        if system is None:
            return None
        if isinstance(system, str):
            return {"role": "system", "content": system} if system else None
        parts: list[dict[str, Any]] = []
        for i, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
                raise InvalidRequest(f"{path}: every block must be a text block", f"{path}.{i}")
            if block["text"]:
                parts.append(self._text_part(block))
        if not parts:
            return None
        if self.claude:
            return {"role": "system", "content": parts}
        return {"role": "system", "content": "\n\n".join(p["text"] for p in parts)}

    @staticmethod
    def _stop_sequences(value: Any) -> list[str]:
        return [s for s in value if s] if value is not None else []

    def _tool_choice(self, choice: Any, body: dict[str, Any]) -> None:
        if choice is None:
            return
        kind = choice.get("type")
        if kind == "auto":
            body["tool_choice"] = "auto"
        elif kind == "any":
            body["tool_choice"] = "required"
        elif kind == "none":
            body["tool_choice"] = "none"
        elif kind == "tool":
            name = choice.get("name")
            if not isinstance(name, str) or not name:
                raise InvalidRequest("tool_choice: name is required for type 'tool'", "tool_choice.name")
            body["tool_choice"] = {"type": "function", "function": {"name": self.names.shorten(name)}}
        else:
            raise InvalidRequest(f"tool_choice: unknown type {kind!r}", "tool_choice.type")
        if choice.get("disable_parallel_tool_use") is True and kind != "none":
            body["parallel_tool_calls"] = False

    @staticmethod
    def _reasoning(thinking: Any, output_config: Any) -> dict[str, Any] | None:
        effort = None
        if isinstance(output_config, dict) and isinstance(output_config.get("effort"), str):
            effort = output_config["effort"]
        kind = None
        if thinking is not None:
            kind = thinking.get("type")
            if isinstance(thinking.get("effort"), str):
                effort = thinking["effort"]
        if kind == "disabled":
            return {"enabled": False}
        if kind == "enabled":
            budget = thinking.get("budget_tokens")
            if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
                raise InvalidRequest("thinking.budget_tokens: must be a positive integer", "thinking.budget_tokens")
            return {"max_tokens": budget}
        if kind not in (None, "adaptive"):
            raise InvalidRequest(
                f"thinking: unknown type {kind!r} ({CAPABILITY_REJECTED}: thinking_type:{kind})", "thinking.type"
            )
        if effort is not None:
            effort = _EFFORT_ALIASES.get(effort, effort)
            return {"effort": effort if effort in _EFFORT_SCALE else _UNKNOWN_EFFORT}
        if kind == "adaptive":
            return {"enabled": True}
        return None

    def _response_format(self, fmt: Any) -> dict[str, Any] | None:
        if fmt is None:
            return None
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
            raise InvalidRequest(
                "output_config.format: must be {'type': 'json_schema', 'schema': {...}}", "output_config.format"
            )
        if not self.limits.supports("structured_outputs", "response_format"):
            raise InvalidRequest(
                f"output_config.format: the model {self.upstream_model} does not support structured outputs "
                f"({CAPABILITY_REJECTED}: structured_outputs_unsupported)",
                "output_config.format",
            )
        schema = {"name": "output", "strict": True, "schema": fmt["schema"]}
        return {"type": "json_schema", "json_schema": schema}

    # -- messages ---------------------------------------------------------------------------------

    def _message(self, msg: dict[str, Any], path: str) -> list[dict[str, Any]]:
        role, content = msg["role"], msg["content"]
        if role == "system":
            system = self._system(content, f"{path}.content")
            return [system] if system is not None else []
        if isinstance(content, str):
            return [{"role": role, "content": content}] if content or role == "user" else []
        allowed = _USER_BLOCKS if role == "user" else _ASSISTANT_BLOCKS
        for j, block in enumerate(content):
            kind = block.get("type") if isinstance(block, dict) else None
            if not isinstance(kind, str) or kind not in allowed:
                raise InvalidRequest(
                    f"{path}.content.{j}: unsupported block type {kind!r} in a {role} message",
                    f"{path}.content.{j}.type",
                )
        if role == "user":
            return self._user(content, path)
        return self._assistant(content, path)

    def _user(self, blocks: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
        tool_msgs: list[dict[str, Any]] = []
        tool_images: list[dict[str, Any]] = []
        parts: list[dict[str, Any]] = []
        for j, block in enumerate(blocks):
            kind = block["type"]
            bpath = f"{path}.content.{j}"
            if kind == "tool_result":
                tool_msgs.append(self._tool_result(block, bpath, tool_images))
            elif kind == "text":
                if not isinstance(block.get("text"), str):
                    raise InvalidRequest(f"{bpath}.text: must be a string", f"{bpath}.text")
                if block["text"]:
                    parts.append(self._text_part(block))
            elif kind == "image":
                parts.append(self._image_part(block, bpath))
            elif kind == "search_result":
                parts.append(self._with_cache({"type": "text", "text": _search_result_text(block, bpath)}, block))
            else:
                parts.append(self._document_part(block, bpath))
        out = tool_msgs
        parts = tool_images + parts
        if parts:
            if len(parts) == 1 and parts[0]["type"] == "text" and "cache_control" not in parts[0]:
                out.append({"role": "user", "content": parts[0]["text"]})
            else:
                out.append({"role": "user", "content": parts})
        return out

    def _tool_result(self, block: dict[str, Any], path: str, images: list[dict[str, Any]]) -> dict[str, Any]:
        tool_use_id = block.get("tool_use_id")
        if not isinstance(tool_use_id, str) or not tool_use_id:
            raise InvalidRequest(f"{path}.tool_use_id: field required", f"{path}.tool_use_id")
        content = block.get("content")
        texts: list[str] = []
        cache_control = block.get("cache_control")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for k, inner in enumerate(content):
                kind = inner.get("type") if isinstance(inner, dict) else None
                ipath = f"{path}.content.{k}"
                if not isinstance(kind, str) or kind not in _TOOL_RESULT_BLOCKS:
                    raise InvalidRequest(f"{ipath}: unsupported block type {kind!r} in a tool_result", ipath)
                if kind == "text" and isinstance(inner.get("text"), str):
                    if inner["text"]:
                        texts.append(inner["text"])
                    cache_control = inner.get("cache_control") or cache_control
                elif kind == "text":
                    raise InvalidRequest(f"{ipath}.text: must be a string", f"{ipath}.text")
                elif kind == "tool_reference":
                    texts.append(_tool_reference_text(inner, ipath))
                elif kind == "search_result":
                    texts.append(_search_result_text(inner, ipath))
                elif kind == "image":
                    images.append(self._image_part(inner, ipath))
                else:
                    images.append(self._document_part(inner, ipath))
        elif content is not None:
            raise InvalidRequest(f"{path}.content: must be a string or a list of blocks", f"{path}.content")
        text = "\n".join(texts)
        if block.get("is_error") is True:
            text = TOOL_ERROR_PREFIX + text
        msg: dict[str, Any] = {"role": "tool", "tool_call_id": tool_use_id, "content": text}
        if self.claude and cache_control and text:
            msg["content"] = [{"type": "text", "text": text, "cache_control": cache_control}]
        return msg

    def _assistant(self, blocks: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
        """One assistant message, or, where web tool runs are sent back as calls, a message up to each run's call,
        the run's result as a tool message, and the rest after."""
        out: list[dict[str, Any]] = []
        start = 0
        self._answered = _result_ids(blocks)
        for j, block in enumerate(blocks):
            if block["type"] in _WEB_RESULT_BLOCKS and self._web_call_of(blocks[:j], block) is not None:
                out += self._assistant_turn(blocks[start:j], path, start)
                out.append(self._web_result_message(block, f"{path}.content.{j}"))
                start = j + 1
        return out + self._assistant_turn(blocks[start:], path, start)

    def _web_call_of(self, before: list[dict[str, Any]], result: dict[str, Any]) -> dict[str, Any] | None:
        """The ``server_tool_use`` a result answers, when its tool is offered again (so it goes back as a call)."""
        call = next(
            (b for b in before if b["type"] == "server_tool_use" and b.get("id") == result.get("tool_use_id")), None
        )
        return call if call is not None and self.web.owns(str(call.get("name"))) else None

    def _web_result_message(self, block: dict[str, Any], path: str) -> dict[str, Any]:
        tool_use_id = block.get("tool_use_id")
        if not isinstance(tool_use_id, str) or not tool_use_id:
            raise InvalidRequest(f"{path}.tool_use_id: field required", f"{path}.tool_use_id")
        return {"role": "tool", "tool_call_id": tool_use_id, "content": web_result_text(block, self._sealed)}

    def _assistant_turn(self, blocks: list[dict[str, Any]], path: str, offset: int) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        details: list[dict[str, Any]] = []
        here = _result_ids(blocks)
        for j, block in enumerate(blocks, offset):
            kind = block["type"]
            bpath = f"{path}.content.{j}"
            if kind == "server_tool_use":
                call_id = block.get("id")
                later = isinstance(call_id, str) and call_id in self._answered and call_id not in here
                if self.web.owns(str(block.get("name"))) and later:
                    calls.append(self._tool_call(block, bpath))  # its result follows this message
                else:
                    parts.append({"type": "text", "text": web_call_text(block)})
            elif kind in _WEB_RESULT_BLOCKS:
                parts.append({"type": "text", "text": web_result_text(block, self._sealed)})
            elif kind == "text":
                if not isinstance(block.get("text"), str):
                    raise InvalidRequest(f"{bpath}.text: must be a string", f"{bpath}.text")
                if block["text"]:
                    parts.append(self._text_part(block))
            elif kind == "tool_use":
                calls.append(self._tool_call(block, bpath))
            elif kind == "thinking":
                signature = block.get("signature")
                if isinstance(signature, str) and signature and isinstance(block.get("thinking"), str):
                    details.append(
                        {
                            "type": "reasoning.text",
                            "text": block["thinking"],
                            "signature": signature,
                            "format": "anthropic-claude-v1",
                            "index": len(details),
                        }
                    )
            else:  # redacted_thinking
                data = block.get("data")
                if isinstance(data, str) and data:
                    details.append(
                        {
                            "type": "reasoning.encrypted",
                            "data": data,
                            "format": "anthropic-claude-v1",
                            "index": len(details),
                        }
                    )
        if not parts and not calls and not details:
            return []
        content: Any
        if not parts:
            content = None
        elif len(parts) == 1 and "cache_control" not in parts[0]:
            content = parts[0]["text"]
        else:
            content = parts
        msg: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            msg["tool_calls"] = calls
        if details:
            msg["reasoning_details"] = details
        return [msg]

    def _tool_call(self, block: dict[str, Any], path: str) -> dict[str, Any]:
        call_id, name = block.get("id"), block.get("name")
        if not isinstance(call_id, str) or not call_id:
            raise InvalidRequest(f"{path}.id: field required", f"{path}.id")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(f"{path}.name: field required", f"{path}.name")
        tool_input = block.get("input")
        if tool_input is None:
            tool_input = {}
        if not isinstance(tool_input, dict):
            raise InvalidRequest(f"{path}.input: must be an object", f"{path}.input")
        arguments = json.dumps(tool_input, separators=(",", ":"), ensure_ascii=False)
        return {
            "id": call_id,
            "type": "function",
            "function": {"name": self.names.shorten(name), "arguments": arguments},
        }

    # -- parts ------------------------------------------------------------------------------------

    def _with_cache(self, part: dict[str, Any], block: dict[str, Any]) -> dict[str, Any]:
        if self.claude and block.get("cache_control"):
            part["cache_control"] = block["cache_control"]
        return part

    def _text_part(self, block: dict[str, Any]) -> dict[str, Any]:
        return self._with_cache({"type": "text", "text": block["text"]}, block)

    def _image_part(self, block: dict[str, Any], path: str) -> dict[str, Any]:
        source = block.get("source")
        kind = source.get("type") if isinstance(source, dict) else None
        if kind == "base64":
            media, data = source.get("media_type"), source.get("data")  # type: ignore[union-attr]
            if not isinstance(media, str) or not isinstance(data, str) or not data:
                raise InvalidRequest(f"{path}.source: media_type and data are required", f"{path}.source")
            url = f"data:{media};base64,{data}"
        elif kind == "url":
            url = source.get("url")  # type: ignore[union-attr]
            if not isinstance(url, str) or not url:
                raise InvalidRequest(f"{path}.source.url: field required", f"{path}.source.url")
        elif kind == "file":
            raise InvalidRequest(f"{path}.source: {_FILES_API}", f"{path}.source.type")
        else:
            raise InvalidRequest(f"{path}.source.type: unsupported image source {kind!r}", f"{path}.source.type")
        return self._with_cache({"type": "image_url", "image_url": {"url": url}}, block)

    def _document_part(self, block: dict[str, Any], path: str) -> dict[str, Any]:
        """PDFs go as OpenRouter ``file`` parts; plain-text documents as text parts."""
        source = block.get("source")
        kind = source.get("type") if isinstance(source, dict) else None
        title = block.get("title") if isinstance(block.get("title"), str) else None
        if kind == "text" and isinstance(source.get("data"), str):  # type: ignore[union-attr]
            text = source["data"]  # type: ignore[index]
            return self._with_cache({"type": "text", "text": f"{title}\n\n{text}" if title else text}, block)
        if kind == "content":
            text = _blocks_text(source.get("content"), f"{path}.source.content")  # type: ignore[union-attr]
            return self._with_cache({"type": "text", "text": f"{title}\n\n{text}" if title else text}, block)
        if kind == "file":
            raise InvalidRequest(f"{path}.source: {_FILES_API}", f"{path}.source.type")
        if kind == "base64" and isinstance(source.get("data"), str):  # type: ignore[union-attr]
            media = source.get("media_type") or "application/pdf"  # type: ignore[union-attr]
            file_data = f"data:{media};base64,{source['data']}"  # type: ignore[index]
        elif kind == "url" and isinstance(source.get("url"), str):  # type: ignore[union-attr]
            file_data = source["url"]  # type: ignore[index]
        else:
            raise InvalidRequest(f"{path}.source: unsupported document source {kind!r}", f"{path}.source")
        part = {"type": "file", "file": {"filename": title or "document.pdf", "file_data": file_data}}
        return self._with_cache(part, block)


def _result_ids(blocks: list[dict[str, Any]]) -> set[str]:
    """The ``tool_use_id`` of each web tool result block (ids that are not strings name nothing)."""
    ids = (b.get("tool_use_id") for b in blocks if b["type"] in _WEB_RESULT_BLOCKS)
    return {i for i in ids if isinstance(i, str)}


def _refuse_unoffered(req: dict[str, Any]) -> None:
    """What Anthropic's servers run and this gateway cannot: MCP servers, containers; and an
    ``output_config`` that is not an object."""
    if req.get("mcp_servers"):
        raise InvalidRequest(
            "mcp_servers: MCP servers are connected by Anthropic's servers and are not available through "
            "this gateway; connect them in the client (e.g. Claude Code's MCP settings)",
            "mcp_servers",
        )
    _refuse_container(req.get("container"))
    output_config = req.get("output_config")
    if output_config is not None and not isinstance(output_config, dict):
        raise InvalidRequest("output_config: must be an object", "output_config")


def _refuse_container(container: Any) -> None:
    """Containers (and the Skills loaded into them) are Anthropic's servers' code execution environment."""
    if container is None:
        return
    skills = isinstance(container, dict) and container.get("skills")
    raise InvalidRequest(
        (
            "container.skills: Skills run in code execution containers on Anthropic's servers"
            if skills
            else "container: code execution containers run on Anthropic's servers"
        )
        + " and are not available through this gateway; remove it, or give the model client tools instead",
        "container.skills" if skills else "container",
    )


def _blocks_text(content: Any, path: str) -> str:
    """The text of a string or a list of text blocks (document ``content`` sources, search results)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InvalidRequest(f"{path}: must be a string or a list of text blocks", path)
    texts = []
    for i, block in enumerate(content):
        if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
            raise InvalidRequest(f"{path}.{i}: only text blocks are supported here", f"{path}.{i}")
        texts.append(block["text"])
    return "\n\n".join(texts)


def _search_result_text(block: dict[str, Any], path: str) -> str:
    title, source = block.get("title"), block.get("source")
    head = " ".join(str(v) for v in (title, f"({source})" if source else None) if v)
    body = _blocks_text(block.get("content"), f"{path}.content")
    return f"Search result: {head}\n\n{body}" if head else body


def _tool_reference_text(block: dict[str, Any], path: str) -> str:
    name = block.get("tool_name")
    if not isinstance(name, str) or not name:
        raise InvalidRequest(f"{path}.tool_name: field required", f"{path}.tool_name")
    return f"Tool loaded: {name} (its definition is now in your tool list; call it directly)."


def _cache_last_part(messages: list[dict[str, Any]], cache_control: dict[str, Any]) -> None:
    """Automatic caching: one breakpoint on the last content part of the conversation (Claude upstreams)."""
    for msg in reversed(messages):
        content = msg.get("content")
        if isinstance(content, str) and content:
            msg["content"] = [{"type": "text", "text": content, "cache_control": cache_control}]
            return
        if isinstance(content, list) and content:
            content[-1] = {**content[-1], "cache_control": cache_control}
            return
