"""The gateway's own web tools as the upstream model sees them, and what one run of them produced (pure: the
searching and fetching is ``websearch/``'s).

A caller's server tool (Anthropic ``web_search_*`` / ``web_fetch_*``, Responses ``web_search*``, chat
``web_search_options``) becomes a ``WebTools`` value: what is offered and with which limits. Upstream it is a plain
function (``web_search`` / ``web_fetch``) the model calls; the gateway runs the call (a ``ToolRun``) and hands
the model ``ToolRun.for_model()``. Each API then shows the run its own way (``server_tool_use`` blocks,
``web_search_call`` items, url annotations) from the same record.

``encrypted_content`` (Anthropic's opaque copy of a result that a later turn sends back) is our own envelope of
the result's text (``seal`` / ``unseal``): not a secret, only a faithful copy, so that a later turn gives the model
the same text it read.

Citations: results are numbered for the model (``[1]``, ``[2]`` …) and it is asked to cite them so; each marker
in the answer that names a result is a ``Citation`` at its place in the text.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .invalid import InvalidRequest

__all__ = [
    "FETCH_FUNCTION",
    "RUN_KEY",
    "SEARCH_FUNCTION",
    "Citation",
    "FetchOptions",
    "SealBudget",
    "SearchOptions",
    "Step",
    "ToolRun",
    "WebHit",
    "WebTools",
    "annotation_citations",
    "citations_in",
    "domain_list",
    "hosts_of",
    "refuse_name_clash",
    "seal",
    "unseal",
    "upstream_search",
    "url_in",
    "web_url",
]

SEARCH_FUNCTION = "web_search"
FETCH_FUNCTION = "web_fetch"
# A loop's stream carries each finished run between the upstream's chunks as ``{RUN_KEY: ToolRun}`` (a value
# no upstream JSON can hold), so the stream translators show it in place.
RUN_KEY = "ob1gw_tool_run"
_SEAL_PREFIX = "ob1gw1."
_MAX_SEALED = 64 << 10  # bytes one sealed hit may inflate to (results are snippets of a few KB)
_MAX_SEALED_PER_REQUEST = 4 << 20  # and all of one request's together
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_MAX_DOMAINS = 100
_CITE = re.compile(r"\[(\d{1,2})\]")


@dataclass(frozen=True)
class WebHit:
    """One search result (or fetched document) as the model reads it."""

    url: str
    title: str
    text: str
    page_age: str | None = None


def domain_list(value: Any, path: str) -> tuple[str, ...]:
    """A caller's ``allowed_domains`` / ``blocked_domains``: host names, each perhaps with a path
    (``example.com/blog``), at most 100; anything else (a scheme, a port, spaces) is refused naming ``path``."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > _MAX_DOMAINS:
        raise InvalidRequest(f"{path}: must be a list of at most {_MAX_DOMAINS} domain names", path)
    out = []
    for i, item in enumerate(value):
        entry = item.strip() if isinstance(item, str) else ""
        host, slash, rest = entry.partition("/")
        host = host.lower().rstrip(".")
        if not _DOMAIN.match(host) or len(rest) > 200 or any(c.isspace() or c in "?#" for c in rest):
            raise InvalidRequest(f"{path}.{i}: must be a domain name such as example.com", f"{path}.{i}")
        out.append(host + slash + rest.rstrip("/") if rest.rstrip("/") else host)
    return tuple(out)


def url_in(url: str, entries: Iterable[str]) -> bool:
    """Whether ``url`` is under one of ``entries`` (``domain_list``'s): its host is the entry's or a subdomain of it,
    and its path starts with the entry's path, if it has one."""
    try:
        parts = urlsplit(url)
        host, path = (parts.hostname or "").lower(), parts.path or "/"
    except ValueError:  # a malformed address (an unclosed IPv6 bracket) is under nothing
        return False
    for entry in entries:
        domain, _, prefix = entry.partition("/")
        if (host == domain or host.endswith("." + domain)) and (
            not prefix or path == "/" + prefix or path.startswith("/" + prefix + "/")
        ):
            return True
    return False


def web_url(url: str) -> bool:
    """Whether ``url`` is an http(s) address with a host (malformed ones are not)."""
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def hosts_of(entries: Iterable[str]) -> list[str]:
    """The host names of ``domain_list`` entries (what a provider's domain filter takes)."""
    return list(dict.fromkeys(entry.partition("/")[0] for entry in entries))


@dataclass(frozen=True)
class SearchOptions:
    max_uses: int | None = None
    allowed_domains: tuple[str, ...] = ()
    blocked_domains: tuple[str, ...] = ()
    user_location: dict[str, Any] | None = None

    @property
    def country(self) -> str | None:
        """The two-letter country of ``user_location`` (Anthropic's and the Responses API's shape, or chat's, which
        nests it in ``approximate``), upper case; None when it names none or not as a country code."""
        location = self.user_location or {}
        nested = location.get("approximate")
        value = (nested if isinstance(nested, dict) else location).get("country")
        return value.upper() if isinstance(value, str) and re.fullmatch(r"[A-Za-z]{2}", value) else None


@dataclass(frozen=True)
class FetchOptions:
    max_uses: int | None = None
    allowed_domains: tuple[str, ...] = ()
    blocked_domains: tuple[str, ...] = ()
    max_content_tokens: int | None = None
    citations: bool = False


@dataclass(frozen=True)
class WebTools:
    """What a request offers of the gateway's web tools (neither: the request has none)."""

    search: SearchOptions | None = None
    fetch: FetchOptions | None = None

    def __bool__(self) -> bool:
        return self.search is not None or self.fetch is not None

    def owns(self, function_name: str) -> bool:
        return (function_name == SEARCH_FUNCTION and self.search is not None) or (
            function_name == FETCH_FUNCTION and self.fetch is not None
        )

    def functions(self) -> list[dict[str, Any]]:
        """The upstream function definitions for what is offered."""
        out = []
        if self.search is not None:
            out.append(_function(SEARCH_FUNCTION, _SEARCH_DESCRIPTION, "query", "What to search the web for."))
        if self.fetch is not None:
            out.append(_function(FETCH_FUNCTION, _FETCH_DESCRIPTION, "url", "The http(s) URL of the page or PDF."))
        return out


def refuse_name_clash(functions: Any, web: WebTools, path: str = "tools") -> None:
    """A caller's own function named as one of the gateway's web tools it also offers is refused (the model's call
    of that name could be either)."""
    names = {f.get("function", {}).get("name") for f in functions or [] if isinstance(f, dict)}
    for name in (SEARCH_FUNCTION, FETCH_FUNCTION):
        if web.owns(name) and name in names:
            raise InvalidRequest(
                f"{path}: a tool named '{name}' and the {name} server tool cannot be offered together; rename yours",
                path,
            )


def upstream_search(body: dict[str, Any], web: WebTools, max_results: int) -> tuple[dict[str, Any], WebTools]:
    """``OB1GW_WEB_SEARCH=upstream``: the search is asked of the upstream as OpenRouter's web plugin
    (``plugins: [{"id": "web", "max_results": N}]``; its answer's ``url_citation`` annotations become the caller's
    citations); what is left for the gateway to run (a fetch). Domain filters cannot be honoured there (the plugin
    takes none, and the model reads the results before any filter could apply), so they are refused by name."""
    search = web.search
    if search is None:
        return body, web
    if search.allowed_domains or search.blocked_domains:
        raise InvalidRequest(
            "allowed_domains / blocked_domains cannot be honoured by this gateway's web search (the upstream's, "
            "OB1GW_WEB_SEARCH=upstream, takes no domain filter); remove them",
            "tools",
        )
    plugins = [p for p in body.get("plugins") or [] if not (isinstance(p, dict) and p.get("id") == "web")]
    return {**body, "plugins": [*plugins, {"id": "web", "max_results": max_results}]}, WebTools(fetch=web.fetch)


_SEARCH_DESCRIPTION = (
    "Search the web for current information. Returns numbered results; cite what you use by its number in "
    "square brackets, e.g. [1]."
)
_FETCH_DESCRIPTION = "Fetch the text of a web page or PDF by URL (http or https)."


def _function(name: str, description: str, arg: str, arg_description: str) -> dict[str, Any]:
    parameters = {
        "type": "object",
        "properties": {arg: {"type": "string", "description": arg_description}},
        "required": [arg],
    }
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


@dataclass
class ToolRun:
    """One call of a web tool, done: the model's input, and its hits or the tool's error code."""

    id: str  # srvtoolu_… (Anthropic shows it; the Responses API's ws_ id derives from it)
    name: str  # SEARCH_FUNCTION | FETCH_FUNCTION
    input: dict[str, Any]
    hits: list[WebHit] = field(default_factory=list)
    error: str | None = None  # Anthropic's error code: unavailable, max_uses_exceeded, url_not_allowed, …
    retrieved_at: str | None = None  # fetches
    first_number: int = 1  # the number the model reads for the first hit (numbers run across a request)

    @property
    def query(self) -> str:
        return str(self.input.get("query") or self.input.get("url") or "")

    def for_model(self) -> str:
        """What the model reads as the function's result."""
        if self.error is not None:
            return f"Error: {self.error}"
        if not self.hits:
            return "No results."
        if self.name == FETCH_FUNCTION:
            return f"URL: {self.hits[0].url}\n\n{self.hits[0].text}"
        return "\n\n".join(
            f"[{n}] {hit.title}\nURL: {hit.url}\n{hit.text}" for n, hit in enumerate(self.hits, self.first_number)
        )


def seal(hit: WebHit) -> str:
    """``encrypted_content``: the hit, compressed and encoded, for a later turn to send back."""
    raw = json.dumps({"u": hit.url, "t": hit.title, "c": hit.text}, ensure_ascii=False, separators=(",", ":"))
    return _SEAL_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw.encode())).decode()


class SealBudget:
    """How many bytes the sealed hits of one request may still inflate to: a small envelope can hold a thousand times
    its size, so the whole request is bounded, not each envelope alone."""

    def __init__(self, limit: int = _MAX_SEALED_PER_REQUEST) -> None:
        self.left = limit


def unseal(value: Any, url: str = "", title: str = "", budget: SealBudget | None = None) -> WebHit:
    """A hit back from ``encrypted_content``; one this gateway did not make, or past the request's ``budget``, keeps
    only its url and title."""
    budget = budget or SealBudget()
    if isinstance(value, str) and value.startswith(_SEAL_PREFIX) and budget.left > 0:
        try:
            inflate = zlib.decompressobj()
            raw = inflate.decompress(
                base64.urlsafe_b64decode(value[len(_SEAL_PREFIX) :]), min(_MAX_SEALED, budget.left)
            )
            budget.left -= len(raw)
            data = json.loads(raw) if not inflate.unconsumed_tail else None
            if isinstance(data, dict):
                return WebHit(str(data.get("u") or url), str(data.get("t") or title), str(data.get("c") or ""))
        except (ValueError, zlib.error):
            pass
    return WebHit(url, title, "")


@dataclass
class Step:
    """A round of a loop that ran the gateway's tools: what the model said first (an assistant message's text and
    reasoning; its tool calls left out) and the runs, in order."""

    said: dict[str, Any]
    runs: list[ToolRun]


@dataclass(frozen=True)
class Citation:
    """A ``[n]`` marker in an answer that names a hit: where it is (``start``/``end`` in the text) and which."""

    start: int
    end: int
    hit: WebHit


def annotation_citations(annotations: Any) -> list[Citation]:
    """An upstream answer's own ``url_citation`` annotations (OpenRouter's web search, ``OB1GW_WEB_SEARCH=upstream``,
    in chat's shape: ``{"type": "url_citation", "url_citation": {url, title, content, start_index, end_index}}``)."""
    out = []
    for note in annotations if isinstance(annotations, list) else []:
        cite = note.get("url_citation") if isinstance(note, dict) and note.get("type") == "url_citation" else None
        if not isinstance(cite, dict) or not isinstance(cite.get("url"), str) or not web_url(cite["url"]):
            continue
        start, end = cite.get("start_index"), cite.get("end_index")
        start = start if isinstance(start, int) and not isinstance(start, bool) and start >= 0 else 0
        end = end if isinstance(end, int) and not isinstance(end, bool) and end >= start else start
        title, content = cite.get("title"), cite.get("content")
        hit = WebHit(cite["url"], title if isinstance(title, str) else "", content if isinstance(content, str) else "")
        out.append(Citation(start, end, hit))
    return out


def citations_in(text: str, runs: list[ToolRun]) -> list[Citation]:
    """The markers in ``text`` that name one of ``runs``' hits, in order."""
    numbered: dict[int, WebHit] = {}
    for run in runs:
        if run.name != SEARCH_FUNCTION:
            continue
        for n, hit in enumerate(run.hits, run.first_number):
            numbered[n] = hit
    return [
        Citation(m.start(), m.end(), numbered[int(m.group(1))])
        for m in _CITE.finditer(text)
        if int(m.group(1)) in numbered
    ]
