"""The safe fetch against real servers on 127.0.0.x: a "public" site on 127.0.0.2 (opened to the guard for the
test, as no public address is reachable here) and an internal one on 127.0.0.1 that must never see a request —
asked directly, through a name that resolves to it, or through a redirect."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from ob1_gateway.websearch.address_guard import GuardedResolver
from ob1_gateway.websearch.fetcher import Fetcher, FetchLimits, FetchRefused

PUBLIC = "127.0.0.2"  # stands for the internet in these tests


class _Site:
    def __init__(self, host: str, pages: dict[str, tuple[int, dict[str, str], bytes]]) -> None:
        self.seen: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.seen.append(self.path)
                status, headers, body = pages.get(self.path, (404, {}, b""))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class _Names(AbstractResolver):
    """A DNS of our own: ``internal.test`` → 127.0.0.1, ``public.test`` → the public site."""

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> list[ResolveResult]:
        address = {"internal.test": "127.0.0.1", "public.test": PUBLIC, "rebind.test": "10.0.0.1"}[host]
        return [{"hostname": host, "host": address, "port": port, "family": family, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        pass


@pytest.fixture
def internal() -> Iterator[_Site]:
    site = _Site("127.0.0.1", {"/secret": (200, {"content-type": "text/plain"}, b"internal secret")})
    yield site
    site.server.shutdown()


@pytest.fixture
def public(internal: _Site) -> Iterator[_Site]:
    port = internal.server.server_address[1]
    page = (
        b"<html><head><style>x{}</style></head>"
        b"<body><h1>Title</h1><p>Hello <b>web</b></p><script>x()</script></body></html>"
    )
    site = _Site(
        PUBLIC,
        {
            "/page": (200, {"content-type": "text/html; charset=utf-8"}, page),
            "/to-internal": (302, {"location": f"http://127.0.0.1:{port}/secret"}, b""),
            "/to-internal-name": (302, {"location": f"http://internal.test:{port}/secret"}, b""),
            "/to-metadata": (301, {"location": "http://169.254.169.254/latest/meta-data/"}, b""),
            "/loop": (302, {"location": "/loop"}, b""),
            "/big": (200, {"content-type": "text/plain"}, b"x" * 5000),
            "/binary": (200, {"content-type": "application/octet-stream"}, b"\x00\x01"),
            "/paper.pdf": (200, {"content-type": "application/pdf"}, minimal_pdf("Hello from a PDF")),
            "/broken.pdf": (200, {"content-type": "application/pdf"}, b"%PDF-1.4 not really"),
        },
    )
    yield site
    site.server.shutdown()


def fetch(url: str, opened: tuple[str, ...] = (f"{PUBLIC}/32",), **limits: Any) -> Any:
    async def run() -> Any:
        fetcher = Fetcher(FetchLimits(**limits), GuardedResolver(_Names(), allowed=opened))
        try:
            return await fetcher.fetch(url)
        finally:
            await fetcher.aclose()

    return asyncio.run(run())


def test_a_public_page_is_fetched_as_readable_text(public: _Site) -> None:
    document = fetch(public.url + "/page")
    assert document.text == "Title\nHello web" and document.content_type == "text/html"
    port = public.server.server_address[1]
    assert fetch(f"http://public.test:{port}/page").text == "Title\nHello web"  # by name, resolved by the guard


@pytest.mark.parametrize(
    "target",
    [
        "{internal}/secret",  # loopback, directly
        "http://[::1]:{port}/secret",
        "http://internal.test:{port}/secret",  # a name that resolves to it
        "http://rebind.test:{port}/secret",  # a name that resolves to a private address
        "http://169.254.169.254/latest/meta-data/",
        "{public}/to-internal",  # a redirect to it
        "{public}/to-internal-name",
        "{public}/to-metadata",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{port}/",
    ],
)
def test_internal_addresses_are_never_reached(internal: _Site, public: _Site, target: str) -> None:
    url = target.format(internal=internal.url, public=public.url, port=internal.server.server_address[1])
    with pytest.raises(FetchRefused):
        fetch(url)
    assert internal.seen == []


def test_the_internal_site_is_reachable_but_for_the_guard(internal: _Site, public: _Site) -> None:
    """The refusals above are the guard's: with every network opened, the same redirect reaches the secret."""
    everything = ("0.0.0.0/0", "::/0")
    assert fetch(public.url + "/to-internal-name", opened=everything).text == "internal secret"
    assert internal.seen == ["/secret"]


def test_limits_redirects_size_and_type(public: _Site) -> None:
    with pytest.raises(FetchRefused, match="redirects"):
        fetch(public.url + "/loop", max_redirects=3)
    assert public.seen.count("/loop") == 4
    with pytest.raises(FetchRefused, match="larger than 1000 bytes"):
        fetch(public.url + "/big", max_bytes=1000)
    with pytest.raises(FetchRefused, match="is neither text nor a PDF"):
        fetch(public.url + "/binary")


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF showing ``text`` (objects, xref offsets and trailer written out)."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_a_pdf_is_fetched_as_its_text_and_a_broken_one_is_refused(public: _Site) -> None:
    document = fetch(public.url + "/paper.pdf")
    assert document.content_type == "application/pdf" and document.text == "Hello from a PDF"
    with pytest.raises(FetchRefused, match="not a readable PDF") as refused:
        fetch(public.url + "/broken.pdf")
    assert refused.value.code == "unsupported_content_type"
