"""OpenAI Responses request -> OpenAI/OpenRouter chat-completions request (``POST /v1/responses``).

Stored state is resolved before this runs (``api.response_state``): a ``previous_response_id``'s
conversation arrives as ``history`` and ``item_reference`` items arrive replaced by the items they name.
Decisions (each covered by a test):
- ``conversation`` (the Conversations API) and ``prompt`` (stored prompt templates) are not offered: 400.
- ``instructions`` are this request's only (not carried over from a previous response, as OpenAI does).
- ``instructions`` becomes the first system message; ``developer`` messages become ``system`` messages
  (not every upstream provider accepts the ``developer`` role).
- ``function_call`` items become assistant ``tool_calls``; consecutive calls, and calls right after an
  assistant message, are merged into that one assistant message (one model turn, as chat expects).
  ``function_call_output`` items become ``tool`` messages; images in an output follow in a user message.
- ``reasoning`` items are replayed only when their ``encrypted_content`` is one this gateway produced
  (it carries the upstream's signed ``reasoning_details``, see ``encode_reasoning``); summaries alone
  are dropped, because unsigned reasoning cannot be replayed and a signature is never invented.
- Tools: see ``responses_tools`` (function, namespace, custom and local_shell tools run; hosted ones are
  refused when the request needs them, else omitted and named in ``tools.omitted``); ``tool_choice`` is
  dropped when no tool remains.
- ``text.format`` json_schema / json_object -> ``response_format``; ``text.verbosity`` -> ``verbosity``;
  ``top_logprobs`` / ``include: ["message.output_text.logprobs"]`` -> ``logprobs`` / ``top_logprobs``;
  ``prompt_cache_key``, ``prompt_cache_retention`` and ``service_tier`` are passed on as chat has them.
- ``background: true`` and ``moderation`` are refused by name (the answer would not be what they ask for);
  the fields that have no effect here are listed in docs/clients.md.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from ..chat.chat_fields import with_usage
from ..invalid import InvalidRequest
from ..json_codec import COMPACT_UTF8
from ..schema import ResponsesRequest, validate
from ..web_tools import refuse_name_clash
from .responses_items import ItemIds, new_response_id
from .responses_tools import ResponsesTools

__all__ = ["ENCRYPTED_PREFIX", "ResponsesPlan", "decode_reasoning", "encode_reasoning", "responses_to_chat"]

ENCRYPTED_PREFIX = "ob1gw.v1."
_EFFORTS = frozenset({"none", "minimal", "low", "medium", "high", "xhigh"})
_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
_NOT_OFFERED = {
    "conversation": "the Conversations API is not offered by this gateway: chain with previous_response_id or "
    "send the whole conversation in 'input'",
    "prompt": "stored prompt templates are not offered by this gateway: send the prompt in 'instructions' and 'input'",
    "moderation": "moderation policies are not applied by this gateway, so no answer could be scored or blocked",
}
_PASSED_ON = ("prompt_cache_key", "prompt_cache_retention", "service_tier")
_CALLS = frozenset({"function_call", "custom_tool_call", "local_shell_call"})
_OUTPUTS = frozenset({"function_call_output", "custom_tool_call_output", "local_shell_call_output"})
LOGPROBS = "message.output_text.logprobs"


@dataclass
class ResponsesPlan:
    """The upstream body plus what the response path needs: names to restore and fields to echo."""

    body: dict[str, Any]
    tools: ResponsesTools = field(default_factory=ResponsesTools)
    stream: bool = False
    model: str = ""
    echo: dict[str, Any] = field(default_factory=dict)
    include_encrypted: bool = False
    include_sources: bool = False  # web_search_call items list their sources (include: web_search_call.action.sources)
    keep_reasoning: bool = False  # stored: reasoning items keep encrypted_content for a later turn to replay
    response_id: str = field(default_factory=new_response_id)
    ids: ItemIds = field(default_factory=lambda: ItemIds(""))


def encode_reasoning(details: list[dict[str, Any]]) -> str:
    """Opaque ``encrypted_content`` carrying upstream ``reasoning_details`` for replay on the next turn."""
    raw = COMPACT_UTF8.encode(details).encode("utf-8")
    return ENCRYPTED_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii")


def decode_reasoning(value: Any) -> list[dict[str, Any]]:
    """The ``reasoning_details`` inside an ``encrypted_content`` we produced; anything else gives []."""
    if not isinstance(value, str) or not value.startswith(ENCRYPTED_PREFIX):
        return []
    try:
        details = json.loads(base64.urlsafe_b64decode(value[len(ENCRYPTED_PREFIX) :].encode("ascii")))
    except ValueError:
        return []
    if not isinstance(details, list):
        return []
    return [d for d in details if isinstance(d, dict)]


def responses_to_chat(
    req: dict[str, Any],
    *,
    upstream_model: str,
    history: list[dict[str, Any]] | None = None,
    store: bool = False,
    response_id: str | None = None,
    web: frozenset[str] = frozenset(),
) -> ResponsesPlan:
    """The upstream body for ``req``, after the items of ``history`` (a previous response's conversation).
    ``store``: whether this response will be kept (what the answer's ``store`` says). ``web``: the gateway's web
    functions that are on."""
    if not isinstance(req, dict):
        raise InvalidRequest("request body must be a JSON object")
    validate(ResponsesRequest, req, brackets=True)
    builder = _Builder(req, upstream_model, history or [], store, response_id or new_response_id())
    builder.tools.web_on = web
    return builder.build()


def _refuse_unoffered(req: dict[str, Any]) -> None:
    """What this gateway does not offer: the Conversations API, stored prompts, moderation, background."""
    for name, why in _NOT_OFFERED.items():
        if req.get(name) not in (None, ""):
            raise InvalidRequest(f"{name} is not supported: {why}", name)
    if req.get("background") is True:
        raise InvalidRequest(
            "background is not supported: this gateway answers every response at once (stream it instead)",
            "background",
        )


class _Builder:
    def __init__(
        self, req: dict[str, Any], upstream_model: str, history: list[dict[str, Any]], store: bool, response_id: str
    ) -> None:
        self.req = req
        self.upstream_model = upstream_model
        self.history = history
        self.store = store
        self.response_id = response_id
        self.tools = ResponsesTools()
        self.names = self.tools.names
        self.messages: list[dict[str, Any]] = []
        self.details: list[dict[str, Any]] = []  # reasoning waiting for the next assistant message
        self.tool_images: list[dict[str, Any]] = []  # images from tool outputs, waiting for a user message

    def build(self) -> ResponsesPlan:
        """Refusals of what the gateway cannot offer first, then the conversation, then each group of fields."""
        req = self.req  # its shape is ResponsesRequest's (schema.py)
        _refuse_unoffered(req)
        body: dict[str, Any] = {"model": self.upstream_model, "messages": self._conversation()}
        body |= self._sampling()
        body |= self._tools()
        body |= self._output()
        body |= {name: req[name] for name in _PASSED_ON if req.get(name) is not None}
        stream = bool(req.get("stream"))
        include = req.get("include")
        return ResponsesPlan(
            body=with_usage(body, stream),
            tools=self.tools,
            stream=stream,
            model=req["model"],
            echo=self._echo(),
            include_encrypted=isinstance(include, list) and "reasoning.encrypted_content" in include,
            include_sources=isinstance(include, list) and "web_search_call.action.sources" in include,
            keep_reasoning=self.store,
            response_id=self.response_id,
            ids=ItemIds(self.response_id),
        )

    def _conversation(self) -> list[dict[str, Any]]:
        """The instructions, the previous response's conversation, then this input: at least one item
        that is not a system message."""
        if self.req.get("instructions"):
            self.messages.append({"role": "system", "content": self.req["instructions"]})
        self._input(self.history, "previous_response")
        self._input(self.req["input"])
        if not any(m["role"] != "system" for m in self.messages):
            raise InvalidRequest("input: must contain at least one message or item", "input")
        return self.messages

    def _sampling(self) -> dict[str, Any]:
        """The output limit, sampling and the end user, as chat names them."""
        req = self.req
        fields: dict[str, Any] = {name: req[name] for name in ("temperature", "top_p") if req.get(name) is not None}
        if req.get("max_output_tokens") is not None:
            fields["max_tokens"] = req["max_output_tokens"]
        user = req.get("user") or req.get("safety_identifier")
        if isinstance(user, str) and user:
            fields["user"] = user
        return fields

    def _tools(self) -> dict[str, Any]:
        """The tools that run (``responses_tools``), their choice and parallelism; none without tools."""
        tools = self.tools.to_chat(self.req.get("tools"), self.req.get("tool_choice"))
        refuse_name_clash(tools, self.tools.web)
        if not tools and not self.tools.web:
            return {}
        fields: dict[str, Any] = {"tools": tools} if tools else {}
        choice = self.tools.choice_to_chat(self.req.get("tool_choice"))
        if choice is not None:
            fields["tool_choice"] = choice
        if self.req.get("parallel_tool_calls") is not None:
            fields["parallel_tool_calls"] = self.req["parallel_tool_calls"]
        return fields

    def _output(self) -> dict[str, Any]:
        """Reasoning, the text format and verbosity, and log probabilities."""
        req = self.req
        fields: dict[str, Any] = {}
        reasoning = self._reasoning(req.get("reasoning"))
        if reasoning is not None:
            fields["reasoning"] = reasoning
        response_format = self._text_format(req.get("text"))
        if response_format is not None:
            fields["response_format"] = response_format
        text = req.get("text")
        if isinstance(text, dict) and isinstance(text.get("verbosity"), str):
            fields["verbosity"] = text["verbosity"]
        include, top = req.get("include"), req.get("top_logprobs")
        if (isinstance(include, list) and LOGPROBS in include) or top:
            fields["logprobs"] = True
            if isinstance(top, int) and not isinstance(top, bool) and top > 0:
                fields["top_logprobs"] = top
        return fields

    def _echo(self) -> dict[str, Any]:
        """Request fields a Response object repeats back (with the API's defaults)."""
        req = self.req
        tools = raw_tools if isinstance(raw_tools := req.get("tools"), list) else []
        reasoning = raw_reasoning if isinstance(raw_reasoning := req.get("reasoning"), dict) else {}
        text = raw_text if isinstance(raw_text := req.get("text"), dict) else {}
        return {
            "instructions": req.get("instructions"),
            "max_output_tokens": req.get("max_output_tokens"),
            "metadata": req.get("metadata") if isinstance(req.get("metadata"), dict) else {},
            "parallel_tool_calls": req.get("parallel_tool_calls") is not False,
            "previous_response_id": req.get("previous_response_id") or None,
            "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
            "store": self.store,
            "temperature": req.get("temperature"),
            "text": {"format": {"type": "text"}, **text},
            "tool_choice": req.get("tool_choice") if req.get("tool_choice") is not None else "auto",
            "tools": [t for t in tools if isinstance(t, dict)],
            "top_p": req.get("top_p"),
            "truncation": "disabled",  # nothing is dropped from a long input here, whatever was asked
            "user": req.get("user"),
        }

    # -- input items ------------------------------------------------------------------------------

    def _input(self, value: str | list[Any], where: str = "input") -> None:
        if isinstance(value, str):
            self.messages.append({"role": "user", "content": value})
            return
        for i, item in enumerate(value):
            path = f"{where}[{i}]"
            if not isinstance(item, dict):
                raise InvalidRequest(f"{path}: must be an object", path)
            kind = item.get("type")
            if kind is None and "role" in item:
                kind = "message"
            if kind not in _OUTPUTS:
                self._flush_tool_images()
            if kind == "message":
                self._message(item, path)
            elif kind in _CALLS:
                self._function_call(item, path)
            elif kind in _OUTPUTS:
                self._function_output(item, path)
            elif kind == "reasoning":
                self.details.extend(decode_reasoning(item.get("encrypted_content")))
            elif kind == "web_search_call":  # an earlier search: what the model did, as its own words
                self._web_search_call(item)
            elif kind == "item_reference":  # resolved before translation; one left here names nothing stored
                raise InvalidRequest(f"{path}: item {item.get('id')!r} not found", f"{path}.id")
            else:
                raise InvalidRequest(f"{path}.type: unsupported input item type {kind!r}", f"{path}.type")
        self._flush_tool_images()

    def _web_search_call(self, item: dict[str, Any]) -> None:
        """An earlier ``web_search_call`` as a line of the assistant's text (the item carries no results to replay)."""
        action: dict[str, Any] = item["action"] if isinstance(item.get("action"), dict) else {}
        query = action.get("query") if isinstance(action.get("query"), str) else ""
        sources: list[Any] = action["sources"] if isinstance(action.get("sources"), list) else []
        urls = [s["url"] for s in sources if isinstance(s, dict) and isinstance(s.get("url"), str)][:20]
        line = f"[web_search: {json.dumps(query, ensure_ascii=False)[:1000]}]" + "".join(f"\n- {u[:500]}" for u in urls)
        msg = self._assistant()
        if msg.get("tool_calls"):
            msg = {"role": "assistant", "content": None}
            self.messages.append(msg)
        msg["content"] = (msg["content"] + "\n" if msg["content"] else "") + line

    def _assistant(self) -> dict[str, Any]:
        """The assistant message new content joins: the last message if it is one, else a new one."""
        last = self.messages[-1] if self.messages else None
        if last is None or last["role"] != "assistant":
            last = {"role": "assistant", "content": None}
            self.messages.append(last)
        if self.details:
            last.setdefault("reasoning_details", []).extend(self.details)
            self.details = []
        return last

    def _message(self, item: dict[str, Any], path: str) -> None:
        raw_role = item.get("role")
        role = _ROLES.get(raw_role) if isinstance(raw_role, str) else None
        if role is None:
            raise InvalidRequest(
                f"{path}.role: must be user, assistant, system or developer, got {item.get('role')!r}", f"{path}.role"
            )
        parts = self._parts(item.get("content"), f"{path}.content", role)
        if role == "assistant":
            text = "".join(p["text"] for p in parts)
            if not text:
                return
            msg = self._assistant()
            if msg.get("tool_calls"):  # text after this turn's tool calls starts a new turn
                msg = {"role": "assistant", "content": None}
                self.messages.append(msg)
            msg["content"] = (msg["content"] or "") + text
            return
        if role == "system":
            text = "\n\n".join(p["text"] for p in parts if p["type"] == "text")
            if text:
                self.messages.append({"role": "system", "content": text})
            return
        if not parts:
            return
        if len(parts) == 1 and parts[0]["type"] == "text":
            self.messages.append({"role": "user", "content": parts[0]["text"]})
        else:
            self.messages.append({"role": "user", "content": parts})

    def _parts(self, content: Any, path: str, role: str) -> list[dict[str, Any]]:
        if isinstance(content, str):
            return [{"type": "text", "text": content}] if content else []
        if not isinstance(content, list):
            raise InvalidRequest(f"{path}: must be a string or a list of content parts", path)
        out: list[dict[str, Any]] = []
        for j, part in enumerate(content):
            ppath = f"{path}[{j}]"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind in ("input_text", "output_text", "text"):
                text = part.get("text")
                if not isinstance(text, str):
                    raise InvalidRequest(f"{ppath}.text: must be a string", f"{ppath}.text")
                if text:
                    out.append({"type": "text", "text": text})
            elif kind == "refusal":
                refusal = part.get("refusal")
                if isinstance(refusal, str) and refusal:
                    out.append({"type": "text", "text": refusal})
            elif kind == "input_image" and role == "user":
                out.append(self._image(part, ppath))
            elif kind == "input_file" and role == "user":
                out.append(self._file(part, ppath))
            else:
                raise InvalidRequest(
                    f"{ppath}.type: unsupported content part {kind!r} in a {role} message", f"{ppath}.type"
                )
        return out

    @staticmethod
    def _image(part: dict[str, Any], path: str) -> dict[str, Any]:
        url = part.get("image_url")
        if not isinstance(url, str) or not url:
            raise InvalidRequest(f"{path}.image_url: required (file_id needs stored files)", f"{path}.image_url")
        image: dict[str, Any] = {"url": url}
        if part.get("detail") in ("low", "high", "auto"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}

    @staticmethod
    def _file(part: dict[str, Any], path: str) -> dict[str, Any]:
        data = part.get("file_data") or part.get("file_url")
        if not isinstance(data, str) or not data:
            raise InvalidRequest(f"{path}.file_data: required (file_id needs stored files)", f"{path}.file_data")
        filename = part.get("filename") if isinstance(part.get("filename"), str) else "file"
        return {"type": "file", "file": {"filename": filename, "file_data": data}}

    def _function_call(self, item: dict[str, Any], path: str) -> None:
        call_id, name, arguments = self.tools.input_call(item, path)
        call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        self._assistant().setdefault("tool_calls", []).append(call)

    def _function_output(self, item: dict[str, Any], path: str) -> None:
        call_id = item.get("call_id") or (item.get("id") if item.get("type") == "local_shell_call_output" else None)
        if not isinstance(call_id, str) or not call_id:
            raise InvalidRequest(f"{path}.call_id: field required", f"{path}.call_id")
        output = item.get("output")
        images: list[dict[str, Any]] = []
        if isinstance(output, str):
            text = output
        elif isinstance(output, list):
            parts = self._parts(output, f"{path}.output", "user")
            text = "\n".join(p["text"] for p in parts if p["type"] == "text")
            images = [p for p in parts if p["type"] != "text"]
        elif output is None:
            text = ""
        else:
            raise InvalidRequest(f"{path}.output: must be a string or a list of content parts", f"{path}.output")
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": text})
        self.tool_images.extend(images)

    def _flush_tool_images(self) -> None:
        """Images from tool outputs follow all of the turn's tool messages, in one user message."""
        if self.tool_images:
            self.messages.append({"role": "user", "content": self.tool_images})
            self.tool_images = []

    # -- tools and options ------------------------------------------------------------------------

    @staticmethod
    def _reasoning(reasoning: Any) -> dict[str, Any] | None:
        if reasoning is None:
            return None
        if not isinstance(reasoning, dict):
            raise InvalidRequest("reasoning: must be an object", "reasoning")
        effort = reasoning.get("effort")
        if effort is None:
            return None
        if not isinstance(effort, str) or effort not in _EFFORTS:
            raise InvalidRequest(f"reasoning.effort: unknown value {effort!r}", "reasoning.effort")
        return {"effort": effort}

    @staticmethod
    def _text_format(text: Any) -> dict[str, Any] | None:
        fmt = text.get("format") if isinstance(text, dict) else None
        if not isinstance(fmt, dict):
            return None
        kind = fmt.get("type")
        if kind == "json_object":
            return {"type": "json_object"}
        if kind == "json_schema":
            schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
            return {"type": "json_schema", "json_schema": schema}
        return None
