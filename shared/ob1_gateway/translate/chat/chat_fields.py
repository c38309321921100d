"""What a ``/v1/chat/completions`` body may carry upstream: the body sent is built from the fields the
gateway understands, never copied whole. OpenAI's fields and OpenRouter's sampling fields go on as given;
OpenRouter's routing and paid features (which model serves, which provider, paid plugins) are the
admin's to decide, so a caller's are refused by name unless the admin allows that field; any other field
is refused by name, as OpenAI refuses an argument it does not know (docs/clients.md: "OpenAI chat completions
fields")."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..invalid import InvalidRequest
from ..web_tools import SEARCH_FUNCTION, SearchOptions, WebTools, refuse_name_clash

__all__ = ["ADMIN_FIELDS", "PASSED_FIELDS", "chat_upstream_fields", "fallback_models", "web_search_of", "with_usage"]

# OpenAI's chat completions fields (the openai SDK's CompletionCreateParams) and OpenRouter's sampling
# fields: each reaches the upstream as given. ``usage`` is the gateway's own (always asked for).
PASSED_FIELDS = frozenset(
    {
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "tools", "tool_choice",
        "parallel_tool_calls", "user", "max_tokens", "max_completion_tokens", "stop", "n", "seed",
        "frequency_penalty", "presence_penalty", "logit_bias", "logprobs", "top_logprobs", "response_format",
        "reasoning_effort", "metadata", "store", "modalities", "audio", "prediction", "service_tier",
        "verbosity", "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention", "safety_identifier",
        "moderation", "functions", "function_call", "top_k", "min_p", "top_a", "repetition_penalty",
        "reasoning", "usage",
    }
)  # fmt: skip
# OpenRouter's routing and paid features: what model or provider serves, what plugin runs at whose cost.
ADMIN_FIELDS = frozenset({"models", "provider", "route", "plugins", "transforms", "debug", "web_search_options"})


def chat_upstream_fields(body: dict[str, Any], allowed: Iterable[str] = ()) -> dict[str, Any]:
    """The fields of ``body`` that may go upstream, or ``InvalidRequest`` naming the first that may not:
    an admin-only field not in ``allowed`` (the admin's ``OB1GW_CHAT_ALLOWED_FIELDS``), or an unknown one."""
    permitted = frozenset(allowed)
    for name in body:
        if name in PASSED_FIELDS or name in permitted:
            continue
        if name in ADMIN_FIELDS:
            raise InvalidRequest(
                f"{name}: the gateway's admin decides OpenRouter's routing and paid features; this field is "
                "not allowed here",
                name,
            )
        raise InvalidRequest(f"Unrecognized request argument supplied: {_printable(name)}", _printable(name))
    return dict(body)


def web_search_of(body: dict[str, Any], web_on: frozenset[str]) -> WebTools:
    """``web_search_options`` as the gateway's own web search, when it runs one (``web_on``): its
    ``user_location`` is honoured, ``search_context_size`` is a hint with no effect."""
    options = body.get("web_search_options")
    if options is None or SEARCH_FUNCTION not in web_on:
        return WebTools()
    if not isinstance(options, dict):
        raise InvalidRequest("web_search_options: must be an object", "web_search_options")
    if body.get("n") not in (None, 1):
        raise InvalidRequest("n: web_search_options runs the gateway's web search for one choice; ask for n=1", "n")
    location = options.get("user_location")
    if location is not None and not isinstance(location, dict):
        raise InvalidRequest("web_search_options.user_location: must be an object", "web_search_options.user_location")
    web = WebTools(search=SearchOptions(user_location=location))
    refuse_name_clash(body.get("tools"), web)
    return web


def fallback_models(body: dict[str, Any]) -> list[str]:
    """An allowed ``models`` list's entries (each must then pass the key's policy), or ``InvalidRequest``."""
    models = body.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(m, str) and m for m in models):
        raise InvalidRequest("models: must be a non-empty list of model ids", "models")
    if len(models) > 8:
        raise InvalidRequest("models: at most 8 fallback models", "models")
    return models


def _printable(name: str) -> str:
    """A field name fit to quote in an error (a client's key may hold anything)."""
    clean = "".join(c if c.isprintable() and c.isascii() else "?" for c in name[:64])
    return clean + ("…" if len(name) > 64 else "")


def with_usage(body: dict[str, Any], stream: bool) -> dict[str, Any]:
    """A translated upstream body's common tail: it asks for its usage (every answer is metered), in the
    stream's last chunk too when ``stream``."""
    body["usage"] = {"include": True}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body
