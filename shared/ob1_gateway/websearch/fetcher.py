"""One document fetched for a model, safely: http(s) only; every hop of a redirect checked again (a literal IP
here, a name by ``GuardedResolver`` as the connection resolves it); at most ``max_redirects`` hops, ``max_bytes``
of body and ``timeout`` seconds; text and PDF only (HTML and PDF made readable text). No proxy: a proxy would
resolve names where the guard cannot see them. Failures are ``FetchRefused`` with a reason a model (or its user)
can read."""

from __future__ import annotations

import asyncio
import io
import ipaddress
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import httpx

from ..upstream.http import FAULTS, Transport, body_chunks, build_request, timeouts, wire_cause
from .address_guard import ForbiddenAddress, GuardedResolver

__all__ = ["FetchLimits", "FetchRefused", "FetchedDocument", "Fetcher"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml+xml")
_PDF = "application/pdf"
_PDF_PAGES = 100  # pages of a PDF made text (a crafted one must not keep a worker for minutes)


class FetchRefused(Exception):
    """The document cannot be had: the reason is safe to show (no internal detail beyond the URL asked for);
    ``code`` is the web fetch tool's error code for it."""

    def __init__(self, reason: str, code: str = "url_not_accessible") -> None:
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int = 2_000_000
    timeout: float = 15.0
    max_redirects: int = 5


@dataclass(frozen=True)
class FetchedDocument:
    url: str  # where it was found, after redirects
    content_type: str
    text: str


class Fetcher:
    """Fetches on its own transport (no cookies, no proxy, the guard as resolver); ``aclose`` when done."""

    def __init__(self, limits: FetchLimits | None = None, resolver: GuardedResolver | None = None) -> None:
        self.limits = limits or FetchLimits()
        self.guard = resolver or GuardedResolver()
        self._transport = Transport(limit=20, keepalive=0, resolver=self.guard)

    async def fetch(self, url: str) -> FetchedDocument:
        try:
            async with asyncio.timeout(self.limits.timeout):
                return await self._follow(url)
        except TimeoutError:
            raise FetchRefused(f"{url}: no answer within {self.limits.timeout:g} s") from None

    async def _follow(self, url: str) -> FetchedDocument:
        for _ in range(self.limits.max_redirects + 1):
            target = self._checked(url)
            request = build_request("GET", target, httpx.Headers({"accept": "text/*"}), None, timeouts(
                connect=self.limits.timeout, read=self.limits.timeout, pool=self.limits.timeout
            ))  # fmt: skip
            try:
                response = await self._transport.handle_async_request(request)
            except FAULTS as exc:
                forbidden = _forbidden_in(wire_cause(exc))
                raise FetchRefused(str(forbidden) if forbidden else f"{url}: cannot connect") from None
            if response.status_code in _REDIRECTS and "location" in response.headers:
                await response.aclose()
                url = str(target.join(response.headers["location"]))
                continue
            return await self._document(url, response)
        raise FetchRefused(f"{url}: more than {self.limits.max_redirects} redirects")

    def _checked(self, url: str) -> httpx.URL:
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL:
            raise FetchRefused(f"{url[:200]}: not a URL") from None
        if target.scheme not in ("http", "https") or not target.host:
            raise FetchRefused(f"{url[:200]}: only http and https URLs can be fetched")
        try:
            ipaddress.ip_address(target.host)
        except ValueError:
            return target  # a name: the guard checks what it resolves to, as the connection resolves it
        why = self.guard.reason(target.host)
        if why is not None:
            raise FetchRefused(f"{url[:200]}: {target.host} is {why}")
        return target

    async def _document(self, url: str, response: httpx.Response) -> FetchedDocument:
        try:
            if response.status_code != 200:
                raise FetchRefused(f"{url}: the site answered {response.status_code}")
            content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if not content_type.startswith(_TEXT_TYPES) and content_type != _PDF:
                what = content_type or "an unnamed type"
                raise FetchRefused(f"{url}: {what} is neither text nor a PDF", "unsupported_content_type")
            body = bytearray()
            async for chunk in body_chunks(response):
                body += chunk
                if len(body) > self.limits.max_bytes:
                    raise FetchRefused(f"{url}: larger than {self.limits.max_bytes} bytes", "content_too_large")
        finally:
            await response.aclose()
        if content_type == _PDF:
            text = await asyncio.to_thread(pdf_text, bytes(body), url)
            return FetchedDocument(url=url, content_type=content_type, text=text)
        text = bytes(body).decode(response.encoding or "utf-8", errors="replace")
        if content_type in ("text/html", "application/xhtml+xml"):
            text = html_text(text)
        return FetchedDocument(url=url, content_type=content_type, text=text)

    async def aclose(self) -> None:
        await self._transport.aclose()


def _forbidden_in(exc: BaseException | None) -> ForbiddenAddress | None:
    """The guard's refusal somewhere in the chain aiohttp and httpx wrapped it in."""
    while exc is not None and not isinstance(exc, ForbiddenAddress):
        exc = exc.__cause__ or exc.__context__
    return exc


class _Text(HTMLParser):
    _SKIP = frozenset({"script", "style", "noscript", "template", "head"})
    _BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def pdf_text(data: bytes, url: str) -> str:
    """The text of a PDF's first pages (pypdf, imported here: only a fetch of a PDF needs it)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise FetchRefused(f"{url}: the PDF is encrypted", "unsupported_content_type")
        pages = [page.extract_text() or "" for page in reader.pages[:_PDF_PAGES]]
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise FetchRefused(f"{url}: not a readable PDF ({type(exc).__name__})", "unsupported_content_type") from None
    return "\n\n".join(text.strip() for text in pages if text.strip())


def html_text(html: str) -> str:
    """The readable text of an HTML page: no scripts or styles, blocks on their own lines, spaces collapsed."""
    parser = _Text()
    parser.feed(html)
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)
