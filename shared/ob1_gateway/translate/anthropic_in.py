"""Anthropic Messages request -> OpenAI/OpenRouter chat-completions request (DESIGN §4, "Requests").

Decisions (each covered by a test):
- ``cache_control`` is kept on system/message/tool-result parts only when the upstream model is a
  Claude model (``"claude"`` in its id); other providers reject or ignore it, so it is stripped.
- System blocks become one system message: a list of text parts for Claude models (so cache_control
  survives), otherwise the texts joined with a blank line.
- A ``tool_result`` becomes a ``tool`` message; all tool messages of a user turn come first, in block
  order, then one user message with the images found inside tool results followed by the turn's
  sibling text/images. ``is_error: true`` is kept visibly by prefixing the content with
  ``[tool error] ``.
- ``thinking``: enabled -> ``reasoning.max_tokens = budget_tokens``; adaptive (or an ``effort`` in
  ``thinking`` / ``output_config``) -> ``reasoning.effort`` (Anthropic's ``max`` -> ``high``), adaptive
  without effort -> ``reasoning.enabled = true``; disabled -> ``reasoning.enabled = false``.
- Signed thinking and redacted thinking are replayed in ``reasoning_details``; unsigned thinking is
  dropped (a signature is never invented).
- Tools whose ``type`` is neither absent nor ``custom`` (Anthropic server tools such as
  ``web_search_20250305``) are skipped; ``tool_choice`` is dropped when no tool remains.
- Unknown *request* fields are ignored; unknown *content block* types are an InvalidRequest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .tool_names import ToolNameMap

__all__ = ["ChatPlan", "InvalidRequest", "anthropic_to_chat"]

TOOL_ERROR_PREFIX = "[tool error] "
_EFFORTS = {"low": "low", "medium": "medium", "high": "high", "max": "high", "minimal": "minimal"}
_USER_BLOCKS = frozenset({"text", "image", "document", "tool_result"})
_ASSISTANT_BLOCKS = frozenset({"text", "tool_use", "thinking", "redacted_thinking"})


class InvalidRequest(ValueError):
    """The client's request cannot be translated; routers answer 400 in their API's error shape."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass
class ChatPlan:
    """The upstream body plus what the response path needs to translate back."""

    body: dict[str, Any]
    tool_names: ToolNameMap = field(default_factory=ToolNameMap)
    stop_sequences: list[str] = field(default_factory=list)
    stream: bool = False
    model: str = ""


def anthropic_to_chat(req: dict[str, Any], *, upstream_model: str) -> ChatPlan:
    if not isinstance(req, dict):
        raise InvalidRequest("request body must be a JSON object")
    return _Builder(req, upstream_model).build()


class _Builder:
    def __init__(self, req: dict[str, Any], upstream_model: str) -> None:
        self.req = req
        self.upstream_model = upstream_model
        self.claude = "claude" in upstream_model.lower()
        self.names = ToolNameMap()

    def build(self) -> ChatPlan:
        req = self.req
        model = req.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidRequest("model: field required (a non-empty string)", "model")
        max_tokens = req.get("max_tokens")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens <= 0:
            raise InvalidRequest("max_tokens: field required (a positive integer)", "max_tokens")
        raw_messages = req.get("messages")
        if not isinstance(raw_messages, list) or not raw_messages:
            raise InvalidRequest("messages: field required (a non-empty list)", "messages")
        stream = req.get("stream") is True

        messages: list[dict[str, Any]] = []
        system = self._system(req.get("system"))
        if system is not None:
            messages.append(system)
        for i, msg in enumerate(raw_messages):
            messages.extend(self._message(msg, f"messages.{i}"))

        body: dict[str, Any] = {"model": self.upstream_model, "messages": messages, "max_tokens": max_tokens}
        for key in ("temperature", "top_p", "top_k"):
            value = req.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                body[key] = value
        stops = self._stop_sequences(req.get("stop_sequences"))
        if stops:
            body["stop"] = stops
        metadata = req.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str) and metadata["user_id"]:
            body["user"] = metadata["user_id"]
        tools = self._tools(req.get("tools"))
        if tools:
            body["tools"] = tools
            self._tool_choice(req.get("tool_choice"), body)
        reasoning = self._reasoning(req.get("thinking"), req.get("output_config"))
        if reasoning is not None:
            body["reasoning"] = reasoning
        body["usage"] = {"include": True}
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return ChatPlan(body=body, tool_names=self.names, stop_sequences=stops, stream=stream, model=model)

    # -- top-level fields -------------------------------------------------------------------------

    def _system(self, system: Any) -> dict[str, Any] | None:
        if system is None:
            return None
        if isinstance(system, str):
            return {"role": "system", "content": system} if system else None
        if not isinstance(system, list):
            raise InvalidRequest("system: must be a string or a list of text blocks", "system")
        parts: list[dict[str, Any]] = []
        for i, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
                raise InvalidRequest("system: every block must be a text block", f"system.{i}")
            if block["text"]:
                parts.append(self._text_part(block))
        if not parts:
            return None
        if self.claude:
            return {"role": "system", "content": parts}
        return {"role": "system", "content": "\n\n".join(p["text"] for p in parts)}

    @staticmethod
    def _stop_sequences(value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            raise InvalidRequest("stop_sequences: must be a list of strings", "stop_sequences")
        return [s for s in value if s]

    def _tools(self, tools: Any) -> list[dict[str, Any]]:
        if tools is None:
            return []
        if not isinstance(tools, list):
            raise InvalidRequest("tools: must be a list", "tools")
        out: list[dict[str, Any]] = []
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise InvalidRequest("tools: every tool must be an object", f"tools.{i}")
            if tool.get("type") not in (None, "custom"):
                continue  # server tools (web_search, code_execution, ...) cannot run upstream
            name = tool.get("name")
            if not isinstance(name, str) or not name:
                raise InvalidRequest("tools: name is required", f"tools.{i}.name")
            schema = tool.get("input_schema")
            if schema is None:
                schema = {"type": "object", "properties": {}}
            elif not isinstance(schema, dict):
                raise InvalidRequest("tools: input_schema must be an object", f"tools.{i}.input_schema")
            fn: dict[str, Any] = {"name": self.names.shorten(name)}
            if isinstance(tool.get("description"), str):
                fn["description"] = tool["description"]
            fn["parameters"] = schema
            out.append({"type": "function", "function": fn})
        return out

    def _tool_choice(self, choice: Any, body: dict[str, Any]) -> None:
        if choice is None:
            return
        if not isinstance(choice, dict):
            raise InvalidRequest("tool_choice: must be an object", "tool_choice")
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
            if not isinstance(thinking, dict):
                raise InvalidRequest("thinking: must be an object", "thinking")
            kind = thinking.get("type")
            if isinstance(thinking.get("effort"), str):
                effort = thinking["effort"]
        if kind == "disabled":
            return {"enabled": False}
        if kind == "enabled":
            budget = thinking.get("budget_tokens")  # type: ignore[union-attr]
            if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
                raise InvalidRequest("thinking.budget_tokens: must be a positive integer", "thinking.budget_tokens")
            return {"max_tokens": budget}
        if kind not in (None, "adaptive"):
            raise InvalidRequest(f"thinking: unknown type {kind!r}", "thinking.type")
        if effort is not None:
            mapped = _EFFORTS.get(effort)
            if mapped is None:
                raise InvalidRequest(f"effort: unknown value {effort!r}", "output_config.effort")
            return {"effort": mapped}
        if kind == "adaptive":
            return {"enabled": True}
        return None

    # -- messages ---------------------------------------------------------------------------------

    def _message(self, msg: Any, path: str) -> list[dict[str, Any]]:
        if not isinstance(msg, dict):
            raise InvalidRequest(f"{path}: must be an object", path)
        role = msg.get("role")
        if role not in ("user", "assistant"):
            raise InvalidRequest(f"{path}.role: must be 'user' or 'assistant', got {role!r}", f"{path}.role")
        content = msg.get("content")
        if isinstance(content, str):
            return [{"role": role, "content": content}] if content or role == "user" else []
        if not isinstance(content, list):
            raise InvalidRequest(f"{path}.content: must be a string or a list of blocks", f"{path}.content")
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
                if kind == "text" and isinstance(inner.get("text"), str):
                    if inner["text"]:
                        texts.append(inner["text"])
                    cache_control = inner.get("cache_control") or cache_control
                elif kind == "image":
                    images.append(self._image_part(inner, ipath))
                elif kind == "document":
                    images.append(self._document_part(inner, ipath))
                else:
                    raise InvalidRequest(f"{ipath}: unsupported block type {kind!r} in a tool_result", ipath)
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
        parts: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        details: list[dict[str, Any]] = []
        for j, block in enumerate(blocks):
            kind = block["type"]
            bpath = f"{path}.content.{j}"
            if kind == "text":
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
        if kind == "base64" and isinstance(source.get("data"), str):  # type: ignore[union-attr]
            media = source.get("media_type") or "application/pdf"  # type: ignore[union-attr]
            file_data = f"data:{media};base64,{source['data']}"  # type: ignore[index]
        elif kind == "url" and isinstance(source.get("url"), str):  # type: ignore[union-attr]
            file_data = source["url"]  # type: ignore[index]
        else:
            raise InvalidRequest(f"{path}.source: unsupported document source {kind!r}", f"{path}.source")
        part = {"type": "file", "file": {"filename": title or "document.pdf", "file_data": file_data}}
        return self._with_cache(part, block)
