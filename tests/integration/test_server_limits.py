"""``ob1gw serve`` (a real process) against connections that send no key and try to exhaust it: endless
header lines, heads that never finish (slowloris), bodies that trickle, more connections than allowed,
malformed HTTP. Each gets a status a client understands and the server's memory stays bounded."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.gateway import ServedGateway, served

HEAD_TIMEOUT = 1.5
BODY_TIMEOUT = 1.5


@pytest.fixture
def gw(tmp_path: Path, fake_ob1: Any) -> Iterator[ServedGateway]:
    with served(
        tmp_path / "home",
        fake_ob1,
        header_timeout_seconds=HEAD_TIMEOUT,
        body_timeout_seconds=BODY_TIMEOUT,
        max_header_bytes=32 * 1024,
        max_connections=40,
    ) as handle:
        yield handle


def connect(gw: ServedGateway) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", int(gw.base_url.rsplit(":", 1)[1])), timeout=10)
    return sock


def read_until_closed(sock: socket.socket, timeout: float = 10) -> bytes:
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return data


def read_one_response(sock: socket.socket) -> bytes:
    """One whole response (head and its content-length body): a response may arrive in several reads."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before a whole head: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before a whole body: {body!r}"
        body += chunk
    return head + b"\r\n\r\n" + body


def test_an_endless_header_line_is_refused_431_and_memory_stays_bounded(gw: ServedGateway) -> None:
    before = gw.rss_kib()
    answers = []
    for _ in range(4):
        sock = connect(gw)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Junk: ")
        sent = 0
        try:
            while sent < 32 * 1024 * 1024:  # the attack: 32 MiB of one header, never ending
                sock.sendall(b"a" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        answers.append(read_until_closed(sock))
        sock.close()
    assert all(a.startswith(b"HTTP/1.1 431 ") for a in answers if a), answers
    assert any(answers), "the server must say why it closed"
    assert gw.rss_kib() - before < 20 * 1024, "the attack grew the server by more than 20 MB"
    assert httpx.get(gw.base_url + "/health", timeout=5).status_code == 200


def test_a_large_head_in_one_read_is_refused_431_as_well(gw: ServedGateway) -> None:
    """The limit holds however the bytes arrive: a whole 100 KB head in one send, with a body after it."""
    sock = connect(gw)
    head = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Junk: " + b"a" * 100_000 + b"\r\ncontent-length: 2\r\n\r\n{}"
    sock.sendall(head)
    answer = read_until_closed(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    small = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    sock = connect(gw)
    sock.sendall(small)
    assert read_one_response(sock).startswith(b"HTTP/1.1 200 ")
    sock.close()


def test_large_but_legal_headers_are_served(gw: ServedGateway) -> None:
    headers = {f"x-extra-{i}": "v" * 1000 for i in range(20)}  # 20 KiB of headers
    assert httpx.get(gw.base_url + "/health", headers=headers, timeout=5).status_code == 200


def test_a_head_that_never_finishes_is_closed_with_408(gw: ServedGateway) -> None:
    socks = [connect(gw) for _ in range(5)]
    started = time.monotonic()
    for sock in socks:
        sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")  # and nothing more
    answers = [read_until_closed(sock, timeout=HEAD_TIMEOUT + 5) for sock in socks]
    waited = time.monotonic() - started
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), answers
    assert waited < HEAD_TIMEOUT + 3, f"slow heads held their connections for {waited:.1f} s"


def test_an_idle_kept_alive_connection_gets_the_same_deadline(gw: ServedGateway) -> None:
    sock = connect(gw)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    sock.settimeout(5)
    assert read_one_response(sock).startswith(b"HTTP/1.1 200 ")
    sock.sendall(b"GET /health HTTP/1.1\r\nHo")  # the next request starts, then stalls
    started = time.monotonic()
    rest = read_until_closed(sock, timeout=HEAD_TIMEOUT + 10)
    assert time.monotonic() - started < HEAD_TIMEOUT + 6
    assert rest == b"" or rest.startswith(b"HTTP/1.1 408 ")


def test_a_trickled_body_is_a_408_in_the_api_s_shape(gw: ServedGateway) -> None:
    sock = connect(gw)
    head = (
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
        f"x-api-key: {gw.key}\r\nanthropic-version: 2023-06-01\r\ncontent-length: 1000\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"model": "claude')
    answer = read_until_closed(sock, timeout=BODY_TIMEOUT + 10)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b'"type":"error"' in answer and b"not received within" in answer


def test_connections_beyond_the_cap_get_503_and_the_rest_are_served(gw: ServedGateway) -> None:
    idle = [connect(gw) for _ in range(45)]  # more than max_connections=40, none sends a request
    try:
        time.sleep(0.3)
        refused = httpx.get(gw.base_url + "/health", timeout=5)
        assert refused.status_code == 503
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 5
    while httpx.get(gw.base_url + "/health", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "the server did not recover once the connections closed"
        time.sleep(0.1)


@pytest.mark.parametrize(
    "raw",
    [b"NOT HTTP AT ALL\r\n\r\n", b"GET / HTTP/1.1\r\nHost x\r\n\r\n", b"GET /health HTTP/9.9\r\n\r\n"],
    ids=["garbage", "header-without-colon", "bad-version"],
)
def test_malformed_http_is_a_400(gw: ServedGateway, raw: bytes) -> None:
    sock = connect(gw)
    sock.sendall(raw)
    answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
