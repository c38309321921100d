"""A fake OB-1 backend and fake WorkOS in one real HTTP server, so tests exercise real sockets.

Routes (as the real OB-1 and WorkOS serve them):

- ``/user_management/authorize/device`` and ``/user_management/authenticate`` (device flow and single-use
  refresh tokens, access tokens are HS256 JWTs with ``exp``, ``sub`` and ``org_id``);
- ``/api/v1/models``, ``/api/v1/auth/organizations``, ``/api/v1/chat/completions`` (OpenRouter shapes,
  ``Authorization: Bearer <access>:<org>``, 401 with an OpenRouter error body otherwise);
- ``/_admin/*`` to drive the fake from another process (``FakeOB1Remote`` wraps it).

A request a real provider refuses (``provider_refusal``) is a 400 before any script. Chat behaviour is a
FIFO of enqueued scripts (``tests/fakes/scripts.py``), else a deterministic "echo agent" (see
``default_reply``). Run standalone: ``python -m tests.fakes.ob1_fake --port 0``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import random
import re
import secrets
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes import scripts as S
from tests.fakes.json_schema import example_from_schema

FAKE_SIGNING_KEY = "fake-workos-signing-key-not-a-secret"
DEFAULT_CLIENT_ID = "client_01K8YDZSSKDMK8GYTEHBAW4N4S"
DEFAULT_USER = {"id": "user_01FAKEUSER", "email": "dev@example.com"}
DEFAULT_ORGS = [{"organizationId": "org_01FAKEORG", "organizationName": "Fake Org"}]
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _model(
    id_: str,
    name: str,
    created: int,
    ctx: int,
    prompt: str,
    completion: str,
    cache_read: str | None = None,
    cache_write: str | None = None,
    *,
    max_out: int = 64000,
    structured: bool = True,
) -> dict[str, Any]:
    pricing = {"prompt": prompt, "completion": completion, "request": "0", "image": "0"}
    if cache_read is not None:
        pricing["input_cache_read"] = cache_read
    if cache_write is not None:
        pricing["input_cache_write"] = cache_write
    return {
        "id": id_,
        "canonical_slug": id_,
        "name": name,
        "created": created,
        "context_length": ctx,
        "architecture": {
            "modality": "text+image->text",
            "input_modalities": ["text", "image"],
            "output_modalities": ["text"],
        },
        "pricing": pricing,
        "top_provider": {"context_length": ctx, "max_completion_tokens": max_out, "is_moderated": False},
        "supported_parameters": [
            *("max_tokens", "temperature", "tools", "tool_choice", "reasoning", "stop"),
            *(("response_format", "structured_outputs") if structured else ()),
        ],
    }


MODELS: list[dict[str, Any]] = [
    _model(
        "anthropic/claude-sonnet-4.5",
        "Anthropic: Claude Sonnet 4.5",
        1759161676,
        1000000,
        "0.000003",
        "0.000015",
        "0.0000003",
        "0.00000375",
    ),
    _model(
        "anthropic/claude-haiku-4.5",
        "Anthropic: Claude Haiku 4.5",
        1760547638,
        200000,
        "0.000001",
        "0.000005",
        "0.0000001",
        "0.00000125",
    ),
    _model(
        "anthropic/claude-opus-4.1",
        "Anthropic: Claude Opus 4.1",
        1754411591,
        200000,
        "0.000015",
        "0.000075",
        "0.0000015",
        "0.00001875",
        max_out=32000,
    ),
    _model(
        "anthropic/claude-sonnet-4",
        "Anthropic: Claude Sonnet 4",
        1747930371,
        1000000,
        "0.000003",
        "0.000015",
        "0.0000003",
        "0.00000375",
        structured=False,
    ),
    _model(
        "anthropic/claude-3.7-sonnet",
        "Anthropic: Claude 3.7 Sonnet",
        1740422110,
        200000,
        "0.000003",
        "0.000015",
        "0.0000003",
        "0.00000375",
        structured=False,
    ),
    _model(
        "anthropic/claude-3.5-haiku",
        "Anthropic: Claude 3.5 Haiku",
        1730678400,
        200000,
        "0.0000008",
        "0.000004",
        "0.00000008",
        "0.000001",
        structured=False,
    ),
    _model("openai/gpt-5", "OpenAI: GPT-5", 1754587413, 400000, "0.00000125", "0.00001", "0.000000125"),
    _model(
        "openai/gpt-4o-mini",
        "OpenAI: GPT-4o-mini",
        1721260800,
        128000,
        "0.00000015",
        "0.0000006",
        "0.000000075",
    ),
    _model(
        "google/gemini-2.5-pro",
        "Google: Gemini 2.5 Pro",
        1750169544,
        1048576,
        "0.00000125",
        "0.00001",
        "0.00000031",
        "0.000001625",
    ),
]
PRICING = {m["id"]: m["pricing"] for m in MODELS}
MODELS_BY_ID = {m["id"]: m for m in MODELS}
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")  # OpenRouter's reasoning.effort values

_USE_TOOL = re.compile(r"USE_TOOL\s+(\S+)\s+")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "code": status}}, status_code=status)


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _text_of(content: Any) -> str:
    """Flatten OpenAI message content (string or parts) to its text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def provider_refusal(body: dict[str, Any], entry: dict[str, Any]) -> str | None:
    """What the model's provider refuses (OpenRouter relays it as a 400): more output than the model
    can give, a thinking budget not below ``max_tokens``, a JSON schema the model cannot follow."""
    cap = entry["top_provider"]["max_completion_tokens"]
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
    if isinstance(max_tokens, int) and max_tokens > cap:
        return (
            f"max_tokens: {max_tokens} > {cap}, which is the maximum allowed number of output tokens for {entry['id']}"
        )
    reasoning = body.get("reasoning")
    budget = reasoning.get("max_tokens") if isinstance(reasoning, dict) else None
    if isinstance(budget, int) and isinstance(max_tokens, int) and budget >= max_tokens:
        return "`max_tokens` must be greater than `thinking.budget_tokens`"
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    if effort is not None and effort not in EFFORTS:
        return f"reasoning.effort: must be one of {', '.join(EFFORTS)}"
    fmt = body.get("response_format")
    structured = "structured_outputs" in entry["supported_parameters"]
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and not structured:
        return f"{entry['id']} does not support structured outputs (response_format json_schema)"
    return None


def _late_system_message(messages: list[Any]) -> bool:
    roles = [m.get("role") for m in messages if isinstance(m, dict)]
    return "system" in roles[next((i for i, r in enumerate(roles) if r != "system"), len(roles)) :]


def _last_text(content: Any) -> str:
    """The last text part: what the user typed, after any reminders a client puts before it."""
    if isinstance(content, list):
        texts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        return texts[-1] if texts else ""
    return _text_of(content)


def default_reply(body: dict[str, Any]) -> dict[str, Any]:
    """The echo agent. The prompt is the last user message that is not the text beside tool results; each
    ``USE_TOOL <name> <json>`` in it is one step of a plan: after k tool results it calls step k, then
    answers ``Tool said: <last result>``; a prompt without steps gets ``Echo: <its last text part>``. A
    ``response_format`` json_schema gets a matching JSON document. Returns ``{"text": str}`` or
    ``{"tool": (name, args_json)}``."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    prompt_at = next(
        (
            i
            for i in range(len(messages) - 1, -1, -1)
            if messages[i].get("role") == "user" and (i == 0 or messages[i - 1].get("role") != "tool")
        ),
        None,
    )
    prompt = _text_of(messages[prompt_at].get("content")) if prompt_at is not None else ""
    results = [m for m in messages[(prompt_at or 0) :] if m.get("role") == "tool"]
    steps = list(_plan(prompt)) or _search_plan(prompt, body)
    if len(results) < len(steps):
        name, args = steps[len(results)]
        tool_names = {t.get("function", {}).get("name") for t in body.get("tools") or []}
        if name in tool_names:
            return {"tool": (name, json.dumps(args))}
        return {"text": f"Cannot call {name}: it is not among the tools sent"}
    if results:
        return {"text": "Tool said: " + _text_of(results[-1].get("content"))[:200]}
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return {"text": json.dumps(example_from_schema(fmt.get("json_schema", {}).get("schema")))}
    return {"text": "Echo: " + _last_text(messages[prompt_at].get("content") if prompt_at is not None else "")[:200]}


_SEARCH_ASK = re.compile(r"(?:web search for the query:|search the web for)\s*(.+)", re.IGNORECASE | re.DOTALL)
WEB_SEARCH_FUNCTION = "web_search"


def _search_plan(prompt: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    """A model given a ``web_search`` function searches when asked to (``search the web for X``, or Claude Code's
    WebSearch sub-request ``Perform a web search for the query: X``); it then answers with what it read, whose
    ``[1]`` marker cites the first result."""
    offered = {t.get("function", {}).get("name") for t in body.get("tools") or [] if isinstance(t, dict)}
    match = _SEARCH_ASK.search(prompt)
    if WEB_SEARCH_FUNCTION not in offered or match is None:
        return []
    return [(WEB_SEARCH_FUNCTION, {"query": match.group(1).strip().rstrip(".?!")[:200]})]


def web_plugin(body: dict[str, Any], reply: dict[str, Any]) -> None:
    """OpenRouter's web plugin (``plugins: [{"id": "web", "max_results": N}]``), as its docs describe it: the results
    are put before the prompt, the model's answer cites them, and the message carries ``url_citation`` annotations.
    Here: N pages of ``web.example.com``, the answer's text followed by one sentence citing each."""
    plugins = body.get("plugins")
    web = next((p for p in plugins or [] if isinstance(p, dict) and p.get("id") == "web"), None)
    if web is None or "text" not in reply:
        return
    text, annotations = reply["text"], []
    wanted = web.get("max_results")
    count = wanted if isinstance(wanted, int) and not isinstance(wanted, bool) and 0 < wanted <= 20 else 5
    for n in range(1, count + 1):
        cite = f" See source {n}."
        url = f"https://web.example.com/page-{n}"
        annotations.append(
            {
                "type": "url_citation",
                "url_citation": {
                    "url": url,
                    "title": f"Web page {n}",
                    "content": f"What page {n} says.",
                    "start_index": len(text) + 1,
                    "end_index": len(text) + len(cite),
                },
            }
        )
        text += cite
    reply["text"], reply["annotations"] = text, annotations


def _plan(prompt: str) -> Iterator[tuple[str, Any]]:
    """The ``USE_TOOL <name> <json>`` steps of a prompt, in order (ones whose JSON does not parse are skipped)."""
    for match in _USE_TOOL.finditer(prompt):
        try:
            args, _ = json.JSONDecoder().raw_decode(prompt, match.end())
        except ValueError:
            continue
        yield match.group(1), args


REASONING_MODELS = frozenset({"openai/gpt-5"})
"""Models whose answers carry reasoning (text and an encrypted ``reasoning_details`` entry), as OpenAI's
reasoning models do through OpenRouter; sent back, that entry must be one this fake issued."""
ENCRYPTED_PREFIX = "fake-encrypted:"


def reasoning_for(body: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any] | None:
    """The reasoning a reasoning model adds to ``reply`` (None for other models or ``effort: none``)."""
    effort = (body.get("reasoning") or {}).get("effort") if isinstance(body.get("reasoning"), dict) else None
    if body.get("model") not in REASONING_MODELS or effort == "none":
        return None
    text = "Thinking about: " + reply.get("text", reply.get("tool", ("",))[0])[:40]
    digest = uuid.uuid5(uuid.NAMESPACE_URL, text).hex
    detail = {"type": "reasoning.encrypted", "data": ENCRYPTED_PREFIX + digest, "format": "openai-responses-v1"}
    return {"text": text, "details": [{**detail, "index": 0}]}


def foreign_reasoning(messages: list[Any]) -> str | None:
    """A problem with replayed reasoning: encrypted reasoning this fake did not issue (a real upstream
    cannot decrypt it either)."""
    for i, message in enumerate(messages):
        for detail in (message.get("reasoning_details") or []) if isinstance(message, dict) else []:
            data = detail.get("data") if isinstance(detail, dict) else None
            if detail.get("type") == "reasoning.encrypted" and not str(data).startswith(ENCRYPTED_PREFIX):
                return f"messages[{i}].reasoning_details: encrypted content could not be verified"
    return None


def compute_usage(model: str, raw_body: bytes, output: str) -> dict[str, Any]:
    """Deterministic usage: prompt = len(body)//4, completion = len(output)//4 + 1, cost from pricing."""
    prompt, completion = len(raw_body) // 4, len(output) // 4 + 1
    price = PRICING.get(model, PRICING[S.DEFAULT_MODEL])
    cost = round(prompt * float(price["prompt"]) + completion * float(price["completion"]), 10)
    return S.usage(prompt, completion, cost=cost)


class FakeState:
    """All state and behaviour of the fake, thread-safe so tests can drive it while the server runs."""

    CONFIG_DEFAULTS: dict[str, Any] = {
        "client_id": DEFAULT_CLIENT_ID,
        "access_ttl": 3600,  # seconds of life for issued access JWTs
        "refresh_delay": 0.0,  # seconds added to every refresh response (makes races real)
        "rotate_refresh_tokens": True,
        "device_pending_polls": 2,  # authorization_pending answers before the device code is approved
        "device_mode": "approve",  # approve | slow_down | expired | denied
        "device_interval": 0,  # seconds; the real WorkOS says 5
        "device_expires_in": 300,
        "user": DEFAULT_USER,
        "orgs": DEFAULT_ORGS,
        "strict_models": True,  # unknown model ids -> 400 like OpenRouter
        "system_first_only": False,  # 400 for a system message after a non-system one (some chat templates)
        "reply_delay": 0.0,  # the echo agent waits a random 0..reply_delay seconds before answering
    }

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.reset()

    # ---- admin -------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every token, request, script and config change."""
        with self._lock:
            self.config: dict[str, Any] = copy.deepcopy(self.CONFIG_DEFAULTS)
            self._live_jti: set[str] = set()
            self._refresh: dict[str, dict[str, Any]] = {}  # refresh token -> {user_id, org_id}
            self._devices: dict[str, dict[str, Any]] = {}
            self._api_keys: set[str] = set()
            self._scripts: deque[Any] = deque()
            self.requests: list[dict[str, Any]] = []
            self.auth_requests: list[dict[str, Any]] = []
            self.refresh_calls = 0
            self.refresh_successes = 0

    def configure(self, **changes: Any) -> None:
        with self._lock:
            unknown = set(changes) - set(self.CONFIG_DEFAULTS)
            if unknown:
                raise ValueError(f"unknown fake config {sorted(unknown)}")
            self.config.update(copy.deepcopy(changes))

    def expire_all_tokens(self) -> None:
        """Revoke every access token issued so far (refresh tokens stay valid)."""
        with self._lock:
            self._live_jti.clear()

    def revoke_refresh_tokens(self) -> None:
        """Kill every refresh token: the login is dead and only a new login helps."""
        with self._lock:
            self._refresh.clear()

    def add_api_key(self, key: str) -> None:
        """Accept ``Authorization: Bearer <key>`` on /api/v1 (a static-key upstream)."""
        with self._lock:
            self._api_keys.add(key)

    def enqueue(self, *scripts: Any) -> None:
        """Queue scripts for the next chat requests, one script per request (FIFO)."""
        with self._lock:
            self._scripts.extend(copy.deepcopy(list(scripts)))

    def issue_login(
        self,
        *,
        expires_in: float | None = None,
        org_id: str | None = None,
        user: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A fresh login as an ``OB1Token.to_dict()``-shaped dict, for seeding a token store."""
        with self._lock:
            user = user or self.config["user"]
            org = org_id if org_id is not None else self.config["orgs"][0]["organizationId"]
            access, exp = self._issue_access(user["id"], org, expires_in)
            refresh = self._issue_refresh(user["id"], org)
            return {
                "access_token": access,
                "refresh_token": refresh,
                "expires_at": float(exp),
                "organization_id": org,
                "user_id": user["id"],
                "email": user["email"],
            }

    def credentials_json(self, login: dict[str, Any]) -> dict[str, Any]:
        """The OB-1 CLI's ``~/.ob1/credentials.json`` shape for a login from ``issue_login``."""
        return {
            "oauth": {
                "access_token": login["access_token"],
                "refresh_token": login["refresh_token"],
                "expires_at": int(login["expires_at"] * 1000),
                "organization_id": login["organization_id"],
                "user": {"id": login["user_id"], "email": login["email"]},
            }
        }

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "refresh_calls": self.refresh_calls,
                "refresh_successes": self.refresh_successes,
                "requests": copy.deepcopy(self.requests),
                "config": copy.deepcopy(self.config),
            }

    # ---- tokens ------------------------------------------------------------------------------------
    def _issue_access(self, user_id: str, org_id: str | None, expires_in: float | None) -> tuple[str, int]:
        now = int(time.time())
        exp = now + int(self.config["access_ttl"] if expires_in is None else expires_in)
        jti = uuid.uuid4().hex
        claims = {
            "iss": "https://api.workos.com",
            "sub": user_id,
            "sid": "session_fake",
            "jti": jti,
            "iat": now,
            "exp": exp,
        }
        if org_id:
            claims["org_id"] = org_id
        self._live_jti.add(jti)
        return jwt.encode(claims, FAKE_SIGNING_KEY, algorithm="HS256"), exp

    def _issue_refresh(self, user_id: str, org_id: str | None) -> str:
        token = "rt_" + secrets.token_urlsafe(24)
        self._refresh[token] = {"user_id": user_id, "org_id": org_id}
        return token

    def _grant(self, user_id: str, org_id: str | None) -> dict[str, Any]:
        user = self.config["user"] if self.config["user"]["id"] == user_id else {"id": user_id, "email": ""}
        access, _ = self._issue_access(user_id, org_id, None)
        return {
            "user": {"object": "user", "id": user["id"], "email": user["email"], "email_verified": True},
            "organization_id": org_id,
            "access_token": access,
            "refresh_token": self._issue_refresh(user_id, org_id),
            "authentication_method": "GoogleOAuth",
        }

    def claims(self, access_token: str) -> dict[str, Any] | None:
        """The claims of a live access token (issued here, unexpired, not revoked), else None."""
        try:
            claims = jwt.decode(access_token, FAKE_SIGNING_KEY, algorithms=["HS256"])
        except jwt.PyJWTError:
            return None
        with self._lock:
            return claims if claims.get("jti") in self._live_jti else None

    def user_orgs(self, user_id: str) -> list[dict[str, str]]:
        return list(self.config["orgs"]) if user_id == self.config["user"]["id"] else []

    def check_upstream_auth(self, header: str | None) -> str | None:
        """None if ``Bearer <access>:<org>`` (or a static key) is acceptable, else the 401 message."""
        if not header or not header.startswith("Bearer "):
            return "No auth credentials found"
        value = header[len("Bearer ") :]
        with self._lock:
            if value in self._api_keys:
                return None
        token, _, org = value.partition(":")
        claims = self.claims(token)
        if claims is None:
            return "Invalid or expired access token"
        if not org:
            return None if not claims.get("org_id") else "Missing organization id"
        if org not in {o["organizationId"] for o in self.user_orgs(claims["sub"])}:
            return "User is not a member of this organization"
        return None

    # ---- WorkOS grants (return (status, body)) -------------------------------------------------------
    def refresh_grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.refresh_calls += 1
            if form.get("client_id") != self.config["client_id"]:
                return 400, {"error": "invalid_client", "error_description": "Invalid client ID."}
            session = self._refresh.get(form.get("refresh_token", ""))
            if session is None:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "Refresh token is invalid or used.",
                }
            if self.config["rotate_refresh_tokens"]:
                del self._refresh[form["refresh_token"]]
            org = form.get("organization_id") or session["org_id"]
            body = self._grant(session["user_id"], org)
            if not self.config["rotate_refresh_tokens"]:
                del self._refresh[body["refresh_token"]]
                body["refresh_token"] = form["refresh_token"]
            self.refresh_successes += 1
            return 200, body

    def start_device(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if form.get("client_id") != self.config["client_id"]:
                return 400, {"error": "invalid_client", "error_description": "Invalid client ID."}
            device_code = secrets.token_urlsafe(32)
            user_code = "-".join(secrets.token_hex(2).upper() for _ in range(2))
            self._devices[device_code] = {
                "polls": 0,
                "expires": time.time() + self.config["device_expires_in"],
            }
            uri = "https://fake.workos.test/device"
            return 200, {
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": uri,
                "verification_uri_complete": f"{uri}?user_code={user_code}",
                "expires_in": self.config["device_expires_in"],
                "interval": self.config["device_interval"],
            }

    def poll_device(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if form.get("client_id") != self.config["client_id"]:
                return 400, {"error": "invalid_client", "error_description": "Invalid client ID."}
            device = self._devices.get(form.get("device_code", ""))
            if device is None:
                return 400, {"error": "invalid_grant", "error_description": "Unknown device code."}
            device["polls"] += 1
            mode = self.config["device_mode"]
            if mode == "expired" or time.time() > device["expires"]:
                return 400, {"error": "expired_token", "error_description": "The device code has expired."}
            if mode == "denied":
                return 400, {"error": "access_denied", "error_description": "The user denied the request."}
            if mode == "slow_down" and device["polls"] == 1:
                return 400, {"error": "slow_down", "error_description": "Polling too fast."}
            if device["polls"] <= self.config["device_pending_polls"] + (mode == "slow_down"):
                return 400, {"error": "authorization_pending", "error_description": "Waiting for the user."}
            del self._devices[form["device_code"]]
            return 200, self._grant(self.config["user"]["id"], self.config["orgs"][0]["organizationId"])

    def next_script(self) -> Any:
        with self._lock:
            return self._scripts.popleft() if self._scripts else None

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.requests.append(entry)
            return entry


# ---- HTTP app ----------------------------------------------------------------------------------------
def build_app(state: FakeState) -> Starlette:
    async def form_of(request: Request) -> dict[str, str]:
        raw = (await request.body()).decode()
        return {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}

    async def authorize_device(request: Request) -> Response:
        status, body = state.start_device(await form_of(request))
        return JSONResponse(body, status_code=status)

    async def authenticate(request: Request) -> Response:
        form = await form_of(request)
        grant = form.get("grant_type")
        state.auth_requests.append({"grant_type": grant, "client_id": form.get("client_id")})
        if grant == "refresh_token":
            delay = state.config["refresh_delay"]
            if delay:
                await asyncio.sleep(delay)
            status, body = state.refresh_grant(form)
        elif grant == DEVICE_GRANT:
            status, body = state.poll_device(form)
        else:
            status, body = 400, {"error": "unsupported_grant_type", "error_description": f"{grant!r}"}
        return JSONResponse(body, status_code=status)

    def entry(request: Request, body: Any, raw: bytes) -> dict[str, Any]:
        return {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": body,
            "raw_len": len(raw),
            "status": 200,
            "stream": False,
            "usage": None,
            "scripted": False,
            "ts": time.time(),
        }

    async def models(request: Request) -> Response:
        rec = state.record(entry(request, None, b""))
        problem = state.check_upstream_auth(request.headers.get("authorization"))
        if problem:
            rec["status"] = 401
            return _error(401, problem)
        return JSONResponse({"data": MODELS})

    async def organizations(request: Request) -> Response:
        rec = state.record(entry(request, None, b""))
        header = request.headers.get("authorization", "")
        claims = state.claims(header[len("Bearer ") :]) if header.startswith("Bearer ") else None
        if claims is None:
            rec["status"] = 401
            return _error(401, "Invalid or expired access token")
        user_id = request.query_params.get("user_id") or claims["sub"]
        if user_id != claims["sub"]:
            rec["status"] = 403
            return _error(403, "Cannot list another user's organizations")
        return JSONResponse({"data": state.user_orgs(user_id)})

    async def chat(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        rec = state.record(entry(request, body, raw))
        problem = state.check_upstream_auth(request.headers.get("authorization"))
        if problem:
            rec["status"] = 401
            return _error(401, problem)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            rec["status"] = 400
            return _error(400, 'Input required: specify "messages"')
        rec["stream"] = stream = bool(body.get("stream"))
        listed = MODELS_BY_ID.get(body.get("model"))
        refusal = provider_refusal(body, listed) if listed else None
        if not refusal and state.config["system_first_only"] and _late_system_message(body["messages"]):
            refusal = "System messages are only allowed at the beginning of the conversation"
        refusal = refusal or foreign_reasoning(body["messages"])
        if refusal:
            rec["status"] = 400
            return _error(400, refusal)
        script = state.next_script()
        if script is not None:
            rec["scripted"] = True
            while isinstance(script, dict) and script.get("_fake") == "delay":  # slow first byte
                await asyncio.sleep(script["seconds"])
                script = script["then"]
            return _scripted(_echo_auth(script, request.headers.get("authorization", "")), rec)
        model = body.get("model") or ""
        if state.config["strict_models"] and model not in PRICING:
            rec["status"] = 400
            return _error(400, f"{model} is not a valid model ID")
        if state.config["reply_delay"]:
            await asyncio.sleep(random.uniform(0, state.config["reply_delay"]))
        try:
            reply = default_reply(body)
        except (AttributeError, TypeError, KeyError):  # a malformed body: a real upstream validates -> 400
            rec["status"] = 400
            return _error(400, "Invalid request body")
        web_plugin(body, reply)
        output = reply["text"] if "text" in reply else reply["tool"][0] + reply["tool"][1]
        thought = reasoning_for(body, reply)
        if thought is not None:
            reply["reasoning"] = thought
            output += thought["text"]
        rec["usage"] = usage = compute_usage(model, raw, output)
        rec["reply"] = reply
        items = _reply_stream(model, reply, usage)
        if not stream:
            return JSONResponse(_reply_completion(model, reply, usage))
        return _sse(items, rec)

    def _scripted(script: Any, rec: dict[str, Any]) -> Response:
        if isinstance(script, dict) and script.get("_fake") == "error":
            rec["status"] = script["status"]
            return JSONResponse(script["body"], status_code=script["status"], headers=script.get("headers"))
        if isinstance(script, dict):
            rec["usage"] = script.get("usage")
            return JSONResponse(script)
        rec["usage"] = next((i["usage"] for i in reversed(script) if isinstance(i, dict) and i.get("usage")), None)
        return _sse(script, rec)

    async def admin(request: Request) -> Response:
        action = request.path_params["action"]
        payload = await request.json() if request.method == "POST" and await request.body() else {}
        if action == "reset":
            state.reset()
        elif action == "expire_all_tokens":
            state.expire_all_tokens()
        elif action == "revoke_refresh_tokens":
            state.revoke_refresh_tokens()
        elif action == "configure":
            state.configure(**payload)
        elif action == "add_api_key":
            state.add_api_key(payload["key"])
        elif action == "issue_login":
            return JSONResponse(state.issue_login(**payload))
        elif action == "enqueue":
            if "named" in payload:
                state.enqueue(S.NAMED[payload["named"]](**payload.get("kwargs", {})))
            else:
                state.enqueue(*payload["scripts"])
        elif action == "state":
            return JSONResponse(state.snapshot())
        else:
            return _error(404, f"unknown admin action {action}")
        return JSONResponse({"ok": True})

    async def not_found(request: Request) -> Response:
        return _error(404, f"Not found: {request.url.path}")

    return Starlette(
        routes=[
            Route("/user_management/authorize/device", authorize_device, methods=["POST"]),
            Route("/user_management/authenticate", authenticate, methods=["POST"]),
            Route("/api/v1/models", models, methods=["GET"]),
            Route("/api/v1/auth/organizations", organizations, methods=["GET"]),
            Route("/api/v1/chat/completions", chat, methods=["POST"]),
            Route("/_admin/{action}", admin, methods=["GET", "POST"]),
            Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "DELETE"]),
        ]
    )


AUTH_ECHO = "$AUTHORIZATION"
"""In a script, replaced by the request's ``Authorization`` header (an upstream that echoes credentials)."""
TOKEN_ECHO = "$TOKEN"
"""In a script, replaced by the credential alone (the header without ``Bearer `` and without ``:<org>``)."""


def _echo_auth(script: Any, authorization: str) -> Any:
    if isinstance(script, str):
        token = authorization.removeprefix("Bearer ").split(":", 1)[0]
        return script.replace(AUTH_ECHO, authorization).replace(TOKEN_ECHO, token)
    if isinstance(script, list):
        return [_echo_auth(item, authorization) for item in script]
    if isinstance(script, dict):
        return {k: _echo_auth(v, authorization) for k, v in script.items()}
    return script


class _Disconnect(Exception):
    """Raised inside a stream to drop the connection like a dying upstream."""


def _sse(items: list[Any], rec: dict[str, Any] | None = None) -> StreamingResponse:
    """The script as an event stream. ``rec`` (the request's record) learns how the stream ended:
    ``rec["stream_end"]`` is "complete" or "abandoned" (the gateway closed it first), and
    ``rec["items_sent"]`` how many script items were sent before that."""
    rec = rec if rec is not None else {}

    async def gen() -> Any:
        rec["items_sent"], end = 0, "abandoned"
        try:
            for item in items:
                if isinstance(item, bool):
                    raise TypeError("bool is not a script item")
                if isinstance(item, int | float):
                    await asyncio.sleep(item)
                elif isinstance(item, str):
                    yield item if item.endswith("\n") else item + "\n\n"
                elif isinstance(item, dict) and item.get("_fake") == "disconnect":
                    end = "disconnected"
                    raise _Disconnect("scripted disconnect")
                else:
                    yield f"data: {json.dumps(item)}\n\n"
                rec["items_sent"] += 1
            end = "complete"
        finally:
            rec["stream_end"] = end

    return StreamingResponse(
        gen(),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


def _reply_stream(model: str, reply: dict[str, Any], usage: dict[str, Any]) -> list[Any]:
    native_stop, native_tool = {"anthropic": ("end_turn", "tool_use"), "google": ("STOP", "STOP")}.get(
        model.split("/")[0], ("stop", "tool_calls")
    )
    items: list[Any] = [S.PROCESSING, S.role_chunk(model)]
    thought = reply.get("reasoning")
    if thought:
        delta = {"role": "assistant", "reasoning": thought["text"], "reasoning_details": thought["details"]}
        items.append(S.chunk(delta, model=model))
    if "text" in reply:
        items += [S.chunk({"role": "assistant", "content": p}, model=model) for p in S.split(reply["text"])]
        if reply.get("annotations"):  # as OpenRouter streams them: a delta of their own after the text
            items.append(
                S.chunk({"role": "assistant", "content": "", "annotations": reply["annotations"]}, model=model)
            )
        finish, native = "stop", native_stop
    else:
        name, args = reply["tool"]
        call_id = "call_" + uuid.uuid4().hex[:24]
        items.append(S.chunk(S._tool_delta(0, id=call_id, name=name), model=model))
        items += [S.chunk(S._tool_delta(0, args=p), model=model) for p in S.split(args, 3)]
        finish, native = "tool_calls", native_tool
    items.append(
        S.chunk(
            {"role": "assistant", "content": ""},
            finish_reason=finish,
            native_finish_reason=native,
            model=model,
        )
    )
    items += [S.chunk(choices=[], usage=usage, model=model), S.DONE]
    gen_id = "gen-" + uuid.uuid4().hex[:20]
    for item in items:
        if isinstance(item, dict):
            item["id"] = gen_id
    return items


def _reply_completion(model: str, reply: dict[str, Any], usage: dict[str, Any]) -> dict[str, Any]:
    if "text" in reply:
        body = S.completion(reply["text"], model=model)
    else:
        name, args = reply["tool"]
        call = {
            "id": "call_" + uuid.uuid4().hex[:24],
            "type": "function",
            "index": 0,
            "function": {"name": name, "arguments": args},
        }
        body = S.completion(None, model=model, tool_calls=[call], finish_reason="tool_calls")
    thought = reply.get("reasoning")
    if thought:
        body["choices"][0]["message"].update(reasoning=thought["text"], reasoning_details=thought["details"])
    if reply.get("annotations"):
        body["choices"][0]["message"]["annotations"] = reply["annotations"]
    body["usage"] = usage
    body["id"] = "gen-" + uuid.uuid4().hex[:20]
    body["created"] = int(time.time())
    return body


# ---- running it ----------------------------------------------------------------------------------------
class _AdminMixin:
    """URLs shared by the in-process server and the remote handle."""

    url: str

    @property
    def upstream_url(self) -> str:
        """Value for ``OB1GW_UPSTREAM_URL``."""
        return self.url + "/api/v1"

    @property
    def auth_url(self) -> str:
        """Value for ``OB1GW_AUTH_URL``."""
        return self.url + "/user_management"

    def env(self) -> dict[str, str]:
        return {
            "OB1GW_UPSTREAM_URL": self.upstream_url,
            "OB1GW_AUTH_URL": self.auth_url,
            "OB1GW_CLIENT_ID": DEFAULT_CLIENT_ID,
        }


class FakeOB1Server(_AdminMixin):
    """The fake in a background thread, on 127.0.0.1 (or ``host``: sam local's containers reach the host on
    docker0's address). Admin methods act on the shared ``FakeState``."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.state = FakeState()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(
            build_app(self.state),
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def start(self) -> FakeOB1Server:
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="fake-ob1", daemon=True
        )
        self._thread.start()
        deadline = time.time() + 10
        while not self._server.started:
            if time.time() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake OB-1 server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> FakeOB1Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # admin API (same names on FakeOB1Remote)
    def reset(self) -> None:
        self.state.reset()

    def expire_all_tokens(self) -> None:
        self.state.expire_all_tokens()

    def revoke_refresh_tokens(self) -> None:
        self.state.revoke_refresh_tokens()

    def configure(self, **changes: Any) -> None:
        self.state.configure(**changes)

    def add_api_key(self, key: str) -> None:
        self.state.add_api_key(key)

    def enqueue(self, *scripts: Any) -> None:
        self.state.enqueue(*scripts)

    def issue_login(self, **kwargs: Any) -> dict[str, Any]:
        return self.state.issue_login(**kwargs)

    def credentials_json(self, login: dict[str, Any]) -> dict[str, Any]:
        return self.state.credentials_json(login)

    @property
    def refresh_calls(self) -> int:
        return self.state.refresh_calls

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.state.requests

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.state.requests if r["path"].endswith("/chat/completions")]


class FakeOB1Remote(_AdminMixin):
    """Drive a fake running in another process through ``/_admin``."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _post(self, action: str, payload: dict[str, Any] | None = None) -> Any:
        response = httpx.post(f"{self.url}/_admin/{action}", json=payload or {}, timeout=10)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self._post("reset")

    def expire_all_tokens(self) -> None:
        self._post("expire_all_tokens")

    def revoke_refresh_tokens(self) -> None:
        self._post("revoke_refresh_tokens")

    def configure(self, **changes: Any) -> None:
        self._post("configure", changes)

    def add_api_key(self, key: str) -> None:
        self._post("add_api_key", {"key": key})

    def enqueue(self, *scripts: Any) -> None:
        self._post("enqueue", {"scripts": list(scripts)})

    def enqueue_named(self, name: str, **kwargs: Any) -> None:
        self._post("enqueue", {"named": name, "kwargs": kwargs})

    def issue_login(self, **kwargs: Any) -> dict[str, Any]:
        return self._post("issue_login", kwargs)

    def credentials_json(self, login: dict[str, Any]) -> dict[str, Any]:
        return FakeState.credentials_json(None, login)  # type: ignore[arg-type]

    @property
    def refresh_calls(self) -> int:
        return self._post("state")["refresh_calls"]

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self._post("state")["requests"]

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake OB-1 + WorkOS server.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    server = FakeOB1Server(args.port, args.host).start()
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
