"""``ob1gw serve --demo``: a built-in stand-in for the upstream, so a newcomer sees the gateway answer real SDK
calls before any OB-1 account is sorted out. It is not a model and says so: every answer starts with
``DEMO_MARK``, every model it lists is named as a stand-in, and nothing it answers costs anything.

It speaks the upstream's OpenAI-style API (``GET /models``, ``POST /chat/completions``, streamed or not) on
127.0.0.1 in a thread of the serving process, and answers deterministically: the mark, then the last user
message back. The gateway in front of it is the real one (keys, budgets, translation, usage records); only
the model is missing. Never the default, and never on AWS (``serve_command``)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

__all__ = ["DEMO_KEY", "DEMO_MARK", "DemoUpstream"]

DEMO_MARK = "[ob1gw demo: a built-in stand-in, not a model]"
DEMO_KEY = "ob1gw-demo-upstream"  # what the gateway sends it; it checks nothing else
# The names SDKs and agents ask for by default resolve here (the gateway's own model resolution).
_MODELS = (
    "anthropic/claude-opus-4.1",
    "anthropic/claude-sonnet-4.5",
    "anthropic/claude-haiku-4.5",
    "openai/gpt-5",
    "openai/gpt-4o-mini",
)


def _catalog() -> list[dict[str, Any]]:
    free = {"prompt": "0", "completion": "0"}
    return [
        {
            "id": model,
            "name": f"DEMO stand-in answering as {model} (not a model)",
            "created": 1_700_000_000,
            "context_length": 200_000,
            "pricing": free,
            "top_provider": {"context_length": 200_000, "max_completion_tokens": 8_192},
        }
        for model in _MODELS
    ]


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _answer(body: dict[str, Any]) -> str:
    return f"{DEMO_MARK} You said: {_last_user_text(body)[:2000]}"


def _usage(body: dict[str, Any], text: str) -> dict[str, Any]:
    prompt = len(json.dumps(body.get("messages") or [])) // 4
    completion = len(text) // 4
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion, "cost": 0}


async def _models(request: Request) -> Response:
    return JSONResponse({"data": _catalog()})


async def _chat(request: Request) -> Response:
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"error": {"message": "body is not JSON", "code": 400}}, status_code=400)
    if not isinstance(body, dict):
        return JSONResponse({"error": {"message": "body must be an object", "code": 400}}, status_code=400)
    text, model = _answer(body), str(body.get("model") or _MODELS[0])
    base = {"id": f"gen-demo-{int(time.time() * 1000)}", "created": int(time.time()), "model": model}
    if not body.get("stream"):
        message = {"role": "assistant", "content": text}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return JSONResponse({**base, "object": "chat.completion", "choices": [choice], "usage": _usage(body, text)})
    return StreamingResponse(_stream(base, body, text), media_type="text/event-stream")


async def _stream(base: dict[str, Any], body: dict[str, Any], text: str) -> AsyncIterator[bytes]:
    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        chunk = {**base, "object": "chat.completion.chunk", "choices": choices, **extra}
        return f"data: {json.dumps(chunk)}\n\n".encode()

    words = text.split(" ")
    for i, word in enumerate(words):
        piece = word if i == 0 else f" {word}"
        yield event([{"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": None}])
    yield event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
    yield event([], usage=_usage(body, text))
    yield b"data: [DONE]\n\n"


class DemoUpstream:
    """The stand-in on 127.0.0.1 (a free port) in a daemon thread: ``start()`` returns its base URL."""

    def __init__(self) -> None:
        app = Starlette(routes=[Route("/models", _models), Route("/chat/completions", _chat, methods=["POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, name="ob1gw-demo-upstream", daemon=True)

    def start(self, timeout: float = 20.0) -> str:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the demo upstream did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"
