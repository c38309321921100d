"""Capture what real Anthropic clients send to an Anthropic-compatible base URL.

A small stdlib HTTP server on 127.0.0.1 records every request (method, path, query, headers with the
credentials redacted, JSON body) and answers like the Anthropic API so the client keeps going: scripted
turns on ``POST /v1/messages`` (a text reply by default, or a ``tool_use`` block, streamed as SSE when the
body has ``"stream": true``), ``POST /v1/messages/count_tokens``, ``GET /v1/models`` and an Anthropic-shaped
404 for anything else.

The driver runs each scenario (Claude Code on its defaults and with a few flags, the Claude Agent SDK, the
anthropic Python SDK) against the server and writes one trimmed JSON fixture per scenario to
``tests/fixtures/clients/<client>-<version>-<scenario>.json``::

    python -m tests.clients.capture [--out DIR] [--only NAME ...] [--list]

Locating the clients (none of them is installed into the repo's venv):

- Claude Code: ``$CLAUDE_BIN`` if set, else ``node_modules/.bin/claude`` of this repo, else ``claude`` on PATH,
  else ``/tmp/clients/node_modules/.bin/claude`` (``make capture-clients`` installs the newest there and sets
  ``CLAUDE_BIN``).
- Python SDKs: ``$CAPTURE_PYTHON`` (default ``/tmp/capvenv/bin/python``), a scratch venv holding ``anthropic``
  and ``claude-agent-sdk``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.json_schema import example_from_schema

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "tests" / "fixtures" / "clients"
REDACTED = "<redacted>"
SECRET_HEADERS = {"x-api-key", "authorization", "proxy-authorization", "cookie"}
KEPT_HEADERS = ("anthropic-beta", "anthropic-version", "content-type", "user-agent")
TRIM_OVER = 200
TRIM_KEEP = 120
MAX_FIXTURE_BYTES = 150_000

# --------------------------------------------------------------------------------------------------------------
# Scripted replies
# --------------------------------------------------------------------------------------------------------------

Reply = list[dict[str, Any]]  # content blocks of the assistant message
Responder = Callable[[dict[str, Any]], Reply]


def last_user_has_tool_result(body: dict[str, Any]) -> bool:
    messages = body.get("messages") or []
    if not messages or messages[-1].get("role") != "user":
        return False
    content = messages[-1].get("content")
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)


def tool_names(body: dict[str, Any]) -> list[str]:
    return [t.get("name", "") for t in body.get("tools") or [] if isinstance(t, dict)]


def text_reply(text: str = "Hello! How can I help you today?") -> Responder:
    def respond(body: dict[str, Any]) -> Reply:
        fmt = (body.get("output_config") or {}).get("format") or body.get("output_format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            return [{"type": "text", "text": json.dumps(example_from_schema(fmt.get("schema", {})))}]
        return [{"type": "text", "text": text}]

    return respond


def thinking_block() -> dict[str, Any]:
    """A thinking block as the API returns it under ``thinking.display: "omitted"`` (empty text, a signature)."""
    return {"type": "thinking", "thinking": "", "signature": f"sig_{uuid.uuid4().hex}"}


def tool_then_text(name: str, tool_input: dict[str, Any], text: str = "Done.", thinking: bool = False) -> Responder:
    """``tool_use`` of ``name`` when the request offers that tool and does not carry a tool_result yet;
    a text reply once the client sends the tool_result back (and for side requests without the tool).
    With ``thinking``, a thinking block comes before the tool_use and before the final text."""
    fallback = text_reply(text)

    def respond(body: dict[str, Any]) -> Reply:
        lead = [thinking_block()] if thinking else []
        if name in tool_names(body) and not last_user_has_tool_result(body):
            tool_use = {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}", "name": name, "input": tool_input}
            return [*lead, tool_use]
        return [*lead, *fallback(body)]

    return respond


def redact(name: str, value: str) -> str:
    """Credentials become ``<redacted>``; an ``Authorization`` value keeps its scheme (``Bearer <redacted>``)."""
    if name not in SECRET_HEADERS:
        return value
    scheme, _, rest = value.partition(" ")
    return f"{scheme} {REDACTED}" if name.endswith("authorization") and rest else REDACTED


# --------------------------------------------------------------------------------------------------------------
# The capture server
# --------------------------------------------------------------------------------------------------------------

MODELS = [
    ("claude-opus-4-7", "Claude Opus 4.7"),
    ("claude-opus-4-6", "Claude Opus 4.6"),
    ("claude-sonnet-4-6", "Claude Sonnet 4.6"),
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5"),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5"),
]


class CaptureServer:
    """Threaded HTTP server that records requests and answers with the current responder."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.responder: Responder = text_reply()
        self.httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> CaptureServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self, responder: Responder | None = None) -> None:
        with self.lock:
            self.requests = []
            self.responder = responder or text_reply()

    def take(self) -> list[dict[str, Any]]:
        with self.lock:
            out, self.requests = self.requests, []
            return out

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _read_body(self) -> bytes:
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().strip().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                length = int(self.headers.get("content-length") or 0)
                return self.rfile.read(length) if length else b""

            def _handle(self) -> None:
                raw = self._read_body()
                url = urlsplit(self.path)
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = {"_non_json": raw.decode("utf-8", "replace")[:2000]}
                headers = {k.lower(): redact(k.lower(), v) for k, v in self.headers.items()}
                record = {
                    "method": self.command,
                    "path": url.path,
                    "query": {k: v if len(v) > 1 else v[0] for k, v in parse_qs(url.query).items()},
                    "headers": headers,
                    "body": body,
                }
                with server.lock:
                    server.requests.append(record)
                    responder = server.responder
                self._route(url.path, body if isinstance(body, dict) else {}, responder)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

            def do_HEAD(self) -> None:
                self._handle()

            def do_OPTIONS(self) -> None:
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            # -- answers ---------------------------------------------------------------------------------------

            def _send(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(payload)))
                self.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
                self.send_header("anthropic-organization-id", "00000000-0000-0000-0000-000000000000")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def _json(self, status: int, obj: Any) -> None:
                self._send(status, json.dumps(obj).encode(), "application/json")

            def _error(self, status: int, kind: str, message: str) -> None:
                self._json(status, {"type": "error", "error": {"type": kind, "message": message}})

            def _route(self, path: str, body: dict[str, Any], responder: Responder) -> None:
                path = path.rstrip("/")
                if self.command == "POST" and path == "/v1/messages":
                    self._messages(body, responder)
                elif self.command == "POST" and path == "/v1/messages/count_tokens":
                    self._json(200, {"input_tokens": max(1, len(json.dumps(body)) // 4)})
                elif self.command in ("GET", "HEAD") and path == "/v1/models":
                    data = [
                        {"type": "model", "id": mid, "display_name": name, "created_at": "2025-09-29T00:00:00Z"}
                        for mid, name in MODELS
                    ]
                    self._json(
                        200, {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
                    )
                elif self.command in ("GET", "HEAD") and path.startswith("/v1/models/"):
                    mid = path.rsplit("/", 1)[-1]
                    self._json(
                        200, {"type": "model", "id": mid, "display_name": mid, "created_at": "2025-09-29T00:00:00Z"}
                    )
                else:
                    self._error(404, "not_found_error", f"Not found: {self.command} {path}")

            def _messages(self, body: dict[str, Any], responder: Responder) -> None:
                if not body.get("messages"):
                    self._error(400, "invalid_request_error", "messages: Field required")
                    return
                content = responder(body)
                usage = {
                    "input_tokens": max(1, len(json.dumps(body.get("messages"))) // 4),
                    "output_tokens": max(1, len(json.dumps(content)) // 4),
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "service_tier": "standard",
                }
                stop = "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"
                message = {
                    "id": f"msg_{uuid.uuid4().hex[:24]}",
                    "type": "message",
                    "role": "assistant",
                    "model": body.get("model") or "claude-sonnet-4-5",
                    "content": content,
                    "stop_reason": stop,
                    "stop_sequence": None,
                    "usage": usage,
                }
                if not body.get("stream"):
                    self._json(200, message)
                    return
                self._send(200, sse_events(message), "text/event-stream; charset=utf-8")

        return Handler


def sse_events(message: dict[str, Any]) -> bytes:
    def ev(name: str, data: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {json.dumps(data)}\n\n"

    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    out = [ev("message_start", {"type": "message_start", "message": start})]
    for i, block in enumerate(message["content"]):
        if block["type"] == "text":
            out.append(
                ev(
                    "content_block_start",
                    {"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}},
                )
            )
            text = block["text"]
            for piece in (text[: len(text) // 2], text[len(text) // 2 :]):
                if piece:
                    out.append(
                        ev(
                            "content_block_delta",
                            {"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": piece}},
                        )
                    )
        elif block["type"] == "thinking":
            start_block = {"type": "thinking", "thinking": "", "signature": ""}
            out.append(
                ev("content_block_start", {"type": "content_block_start", "index": i, "content_block": start_block})
            )
            deltas = [{"type": "thinking_delta", "thinking": block["thinking"]}] if block["thinking"] else []
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
            for delta in deltas:
                out.append(ev("content_block_delta", {"type": "content_block_delta", "index": i, "delta": delta}))
        elif block["type"] == "tool_use":
            out.append(
                ev(
                    "content_block_start",
                    {"type": "content_block_start", "index": i, "content_block": {**block, "input": {}}},
                )
            )
            partial = json.dumps(block["input"])
            for piece in (partial[: len(partial) // 2], partial[len(partial) // 2 :]):
                out.append(
                    ev(
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": i,
                            "delta": {"type": "input_json_delta", "partial_json": piece},
                        },
                    )
                )
        out.append(ev("content_block_stop", {"type": "content_block_stop", "index": i}))
    out.append(
        ev(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        )
    )
    out.append(ev("message_stop", {"type": "message_stop"}))
    return "".join(out).encode()


# --------------------------------------------------------------------------------------------------------------
# Trimming into fixtures
# --------------------------------------------------------------------------------------------------------------


def trim_strings(value: Any, over: int = TRIM_OVER, keep: int = TRIM_KEEP) -> Any:
    if isinstance(value, str):
        if len(value) > over:
            return value[:keep] + f"…[trimmed {len(value) - keep} chars]"
        return value
    if isinstance(value, list):
        return [trim_strings(v, over, keep) for v in value]
    if isinstance(value, dict):
        return {k: trim_strings(v, over, keep) for k, v in value.items()}
    return value


def trim_schema_descriptions(value: Any, keep: int) -> Any:
    """Shorten ``description`` strings inside tools' input_schema (only used when a fixture is too big)."""
    if isinstance(value, list):
        return [trim_schema_descriptions(v, keep) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "description" and isinstance(v, str) and len(v) > keep:
                out[k] = v[:keep] + f"…[trimmed {len(v) - keep} chars]"
            else:
                out[k] = trim_schema_descriptions(v, keep)
        return out
    return value


def fixture_request(record: dict[str, Any]) -> dict[str, Any]:
    headers = record["headers"]
    return {
        "method": record["method"],
        "path": record["path"],
        "query": record["query"],
        "headers": {k: headers[k] for k in KEPT_HEADERS if k in headers},
        "header_names": sorted(k for k in headers if not k.startswith("x-stainless-")),
        "body": trim_strings(record["body"]),
    }


def build_fixture(
    client: str, version: str, scenario: str, command: Any, records: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    fixture = {
        "client": client,
        "version": version,
        "scenario": scenario,
        "command": command,
        **extra,
        "requests": [fixture_request(r) for r in records],
    }
    for keep in (80, 40):
        if len(json.dumps(fixture, ensure_ascii=False, indent=1)) <= MAX_FIXTURE_BYTES:
            break
        for req in fixture["requests"]:
            body = req["body"]
            if isinstance(body, dict) and isinstance(body.get("tools"), list):
                body["tools"] = [
                    {**t, "input_schema": trim_schema_descriptions(t["input_schema"], keep)}
                    if isinstance(t, dict) and "input_schema" in t
                    else t
                    for t in body["tools"]
                ]
    return fixture


# --------------------------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------------------------


def find_claude() -> str | None:
    if os.environ.get("CLAUDE_BIN"):
        return os.environ["CLAUDE_BIN"]
    local = REPO / "node_modules" / ".bin" / "claude"
    if local.exists():
        return str(local)
    found = shutil.which("claude")
    if found:
        return found
    scratch = Path("/tmp/clients/node_modules/.bin/claude")
    return str(scratch) if scratch.exists() else None


def capture_python() -> str:
    return os.environ.get("CAPTURE_PYTHON", "/tmp/capvenv/bin/python")


def claude_version(claude: str) -> str:
    out = subprocess.run([claude, "--version"], capture_output=True, text=True, timeout=60).stdout
    m = re.search(r"\d+\.\d+\.\d+", out)
    return m.group(0) if m else "unknown"


def py_pkg_version(python: str, dist: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60).stdout.strip() or "unknown"


def claude_env(base_url: str, home: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "test-key",
        "DISABLE_TELEMETRY": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "IS_SANDBOX": "1",
        **extra,
    }


@dataclass
class Scenario:
    name: str  # fixture scenario name
    client: str  # "claude-code" | "claude-agent-sdk" | "anthropic"
    run: Callable[[CaptureServer, Scenario, Path], tuple[Any, dict[str, Any]]]
    responder: Responder = field(default_factory=text_reply)
    notes: str = ""


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def _run(argv: list[str], env: dict[str, str], cwd: Path, timeout: int = 240) -> Run:
    try:
        p = subprocess.run(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
        )
        return Run(p.returncode, p.stdout, p.stderr)
    except subprocess.TimeoutExpired as e:

        def s(x: Any) -> str:
            return x.decode("utf-8", "replace") if isinstance(x, bytes) else (x or "")

        return Run(-9, s(e.stdout), s(e.stderr) + "\n[timeout]")


def claude_code(*flags: str, prompt: str = "say hello", env_extra: dict[str, str] | None = None, note: str = ""):
    def run(server: CaptureServer, sc: Scenario, tmp: Path) -> tuple[Any, dict[str, Any]]:
        claude = find_claude()
        if not claude:
            raise RuntimeError("claude binary not found (set CLAUDE_BIN)")
        home, project = tmp / "home", tmp / "project"
        home.mkdir()
        project.mkdir()
        argv = [claude, "-p", prompt, "--dangerously-skip-permissions", *flags]
        env = claude_env(server.base_url, home, **(env_extra or {}))
        result = _run(argv, env, project)
        shown_env = {k: v for k, v in env.items() if k not in ("PATH", "HOME")}
        shown_env["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:PORT"
        shown_env["HOME"] = "<temp dir>"
        command = {
            "argv": ["claude", *argv[1:]],
            "env": shown_env,
            "stdin": "/dev/null",
            "cwd": "<temp project dir>",
        }
        if note:
            command["note"] = note
        return command, _outcome(result)

    return run


def _outcome(result: Run) -> dict[str, Any]:
    """How the client run ended, as the fixture's ``result``."""
    return {
        "result": {
            "returncode": result.returncode,
            "stdout": result.stdout[-2000:],
            "stderr": result.stderr[-2000:],
        }
    }


def python_script(code: str, note: str = ""):
    def run(server: CaptureServer, sc: Scenario, tmp: Path) -> tuple[Any, dict[str, Any]]:
        script = tmp / "scenario.py"
        script.write_text(textwrap.dedent(code))
        home = tmp / "home"
        home.mkdir()
        (tmp / "project").mkdir()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "ANTHROPIC_BASE_URL": server.base_url,
            "ANTHROPIC_API_KEY": "test-key",
            "CLAUDE_BIN": find_claude() or "",
            "CAPTURE_PROJECT": str(tmp / "project"),
            "DISABLE_TELEMETRY": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "IS_SANDBOX": "1",
        }
        result = _run([capture_python(), str(script)], env, tmp)
        command = {"python": textwrap.dedent(code).strip().splitlines()}
        if note:
            command["note"] = note
        return command, _outcome(result)

    return run


TOOLSEARCH_INPUT = {"query": "select:WebFetch", "max_results": 5}

AGENT_SDK_QUERY = """
import asyncio, os
from claude_agent_sdk import ClaudeAgentOptions, query

async def main():
    options = ClaudeAgentOptions(
        cli_path=os.environ["CLAUDE_BIN"] or None,  # the same Claude Code binary as the CLI scenarios
        cwd=os.environ["CAPTURE_PROJECT"],
        permission_mode="bypassPermissions",
        env={
            "ANTHROPIC_BASE_URL": os.environ["ANTHROPIC_BASE_URL"],
            "ANTHROPIC_API_KEY": "test-key",
            "DISABLE_TELEMETRY": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "IS_SANDBOX": "1",
        },
    )
    async for message in query(prompt="say hello", options=options):
        print(type(message).__name__)

asyncio.run(main())
"""

ANTHROPIC_PARSE = """
import anthropic
from pydantic import BaseModel

class Contact(BaseModel):
    name: str
    email: str
    plan_interest: bool

client = anthropic.Anthropic()  # ANTHROPIC_BASE_URL / ANTHROPIC_API_KEY from the environment
parsed = client.messages.parse(
    model="claude-sonnet-4-5",
    max_tokens=1024,
    messages=[{"role": "user", "content": "Extract: John Smith (john@example.com) wants the Enterprise plan."}],
    output_format=Contact,
)
print(parsed.parsed_output)
"""

ANTHROPIC_CLIENT_TOOLS = """
import anthropic

client = anthropic.Anthropic()  # ANTHROPIC_BASE_URL / ANTHROPIC_API_KEY from the environment
messages = [{"role": "user", "content": "List the files in /tmp and remember the count."}]
client_tools = [
    {"type": "bash_20250124", "name": "bash"},
    {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
    {"type": "memory_20250818", "name": "memory"},
]
# 1) client tools (bash, text editor, memory) + effort, plain messages.create
r1 = client.messages.create(
    model="claude-sonnet-4-5", max_tokens=1024, messages=messages, tools=client_tools,
    output_config={"effort": "xhigh"},
)
print(r1.content)
# 2) a server tool in a separate request
r2 = client.messages.create(
    model="claude-sonnet-4-5", max_tokens=1024,
    messages=[{"role": "user", "content": "What is the weather in Paris today?"}],
    tools=[{"type": "web_search_20250305", "name": "web_search"}],
)
print(r2.content)
# 3) the same client tools through client.beta with an explicit beta (shows how betas go on the wire)
r3 = client.beta.messages.create(
    model="claude-sonnet-4-5", max_tokens=1024, messages=messages, tools=client_tools,
    output_config={"effort": "xhigh"}, betas=["context-management-2025-06-27"],
)
print(r3.content)
# 4) the client tools again, streamed (messages.stream)
with client.messages.stream(
    model="claude-sonnet-4-5", max_tokens=1024, messages=messages, tools=client_tools,
    output_config={"effort": "xhigh"},
) as stream:
    print(stream.get_final_message().content)
"""


def scenarios() -> list[Scenario]:
    return [
        Scenario("defaults-text", "claude-code", claude_code()),
        Scenario(
            "defaults-tool",
            "claude-code",
            claude_code(prompt="write the marker file"),
            tool_then_text("Bash", {"command": "echo hi > marker.txt", "description": "write marker"}),
        ),
        Scenario(
            "defaults-tool-thinking",
            "claude-code",
            claude_code(prompt="write the marker file"),
            tool_then_text("Bash", {"command": "echo hi > marker.txt", "description": "write marker"}, thinking=True),
            notes="extra: like defaults-tool, but each reply starts with a thinking block (empty text + signature,"
            " as under display=omitted), to show how Claude Code sends thinking back in the history",
        ),
        Scenario(
            "haiku-xhigh",
            "claude-code",
            claude_code(
                "--model",
                "haiku",
                "--effort",
                "xhigh",
                note="--effort <low|medium|high|xhigh|max> is a CLI flag in this version (see claude --help)",
            ),
        ),
        Scenario(
            "toolsearch",
            "claude-code",
            claude_code(
                prompt="fetch https://example.com and summarise it",
                note="no extra setting: tool search is on by default (mode 'tst') for a first-party API key;"
                " ENABLE_TOOL_SEARCH=false|auto|auto:N or CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1 change it. The"
                " server answers the first turn with a ToolSearch tool_use {query: 'select:WebFetch'}.",
            ),
            tool_then_text("ToolSearch", TOOLSEARCH_INPUT),
        ),
        Scenario("sonnet45-pinned", "claude-code", claude_code("--model", "claude-sonnet-4-5-20250929")),
        Scenario("query", "claude-agent-sdk", python_script(AGENT_SDK_QUERY)),
        Scenario("parse", "anthropic", python_script(ANTHROPIC_PARSE)),
        Scenario("client-tools", "anthropic", python_script(ANTHROPIC_CLIENT_TOOLS)),
    ]


def client_version(client: str) -> str:
    if client == "claude-code":
        claude = find_claude()
        return claude_version(claude) if claude else "unknown"
    dist = {"claude-agent-sdk": "claude-agent-sdk", "anthropic": "anthropic"}[client]
    return py_pkg_version(capture_python(), dist)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", nargs="*", help="scenario names (e.g. defaults-text toolsearch)")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--raw", type=Path, help="also write the untrimmed captures to this directory")
    args = parser.parse_args(argv)
    chosen = [s for s in scenarios() if not args.only or s.name in args.only]
    if args.list:
        for s in chosen:
            print(s.client, s.name)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    versions: dict[str, str] = {}
    failed = 0
    with CaptureServer() as server:
        for sc in chosen:
            version = versions.setdefault(sc.client, client_version(sc.client))
            server.reset(sc.responder)
            with tempfile.TemporaryDirectory(prefix=f"capture-{sc.name}-") as tmp:
                command, extra = sc.run(server, sc, Path(tmp))
            if sc.notes:
                extra = {"notes": sc.notes, **extra}
            records = server.take()
            fixture = build_fixture(sc.client, version, sc.name, command, copy.deepcopy(records), **extra)
            name = f"{sc.client}-{version}-{sc.name}.json"
            text = json.dumps(fixture, ensure_ascii=False, indent=1) + "\n"
            (args.out / name).write_text(text)
            if args.raw:
                args.raw.mkdir(parents=True, exist_ok=True)
                (args.raw / name).write_text(json.dumps(records, ensure_ascii=False, indent=1) + "\n")
            rc = extra["result"]["returncode"]
            ok = rc == 0 and any(r["path"] == "/v1/messages" for r in records)
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name}: rc={rc}, {len(records)} requests, {len(text) // 1024} KiB")
            if not ok:
                print(textwrap.indent(extra["result"]["stderr"][-1500:], "    "), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
