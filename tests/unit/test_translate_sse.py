"""SSE framing: decoder cases, encoder shape, and re-chunking invariance (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ob1_gateway.translate.sse import SSEDecoder, SSEEvent, encode_sse


def decode_all(chunks: list[bytes]) -> list[SSEEvent]:
    dec = SSEDecoder()
    out: list[SSEEvent] = []
    for c in chunks:
        out.extend(dec.feed(c))
    out.extend(dec.flush())
    return out


CASES = [
    ("single", b"data: hello\n\n", [SSEEvent(None, "hello")]),
    ("crlf", b"data: a\r\n\r\ndata: b\r\n\r\n", [SSEEvent(None, "a"), SSEEvent(None, "b")]),
    ("bare_cr", b"data: a\r\rdata: b\r\r", [SSEEvent(None, "a"), SSEEvent(None, "b")]),
    ("comment_skipped", b": OPENROUTER PROCESSING\n\ndata: x\n\n", [SSEEvent(None, "x")]),
    ("comment_inside_event", b"data: a\n: keep-alive\ndata: b\n\n", [SSEEvent(None, "a\nb")]),
    ("multi_line_data", b"data: a\ndata: b\ndata:c\n\n", [SSEEvent(None, "a\nb\nc")]),
    ("event_field", b"event: message_start\ndata: {}\n\n", [SSEEvent("message_start", "{}")]),
    ("only_one_space_stripped", b"data:  two\n\n", [SSEEvent(None, " two")]),
    ("no_colon_field", b"data\n\n", [SSEEvent(None, "")]),
    ("id_retry_ignored", b"id: 1\nretry: 5\ndata: z\n\n", [SSEEvent(None, "z")]),
    ("event_without_data_not_dispatched", b"event: x\n\ndata: y\n\n", [SSEEvent(None, "y")]),
    ("unterminated_flushed", b"data: [DONE]", [SSEEvent(None, "[DONE]")]),
    ("unterminated_line_then_eof", b"data: [DONE]\n", [SSEEvent(None, "[DONE]")]),
    ("bom_at_start", b"\xef\xbb\xbfdata: a\n\n", [SSEEvent(None, "a")]),
    ("utf8", "data: héllo 😀\n\n".encode(), [SSEEvent(None, "héllo 😀")]),
    ("blank_lines_only", b"\n\n\n", []),
    ("only_comments", b": a\n: b\n\n", []),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decode_whole(raw: bytes, expected: list[SSEEvent]) -> None:
    assert decode_all([raw]) == expected


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decode_byte_by_byte(raw: bytes, expected: list[SSEEvent]) -> None:
    assert decode_all([raw[i : i + 1] for i in range(len(raw))]) == expected


def test_split_mid_utf8_character() -> None:
    raw = "data: 😀\n\n".encode()
    cut = raw.index(b"\xf0") + 2
    dec = SSEDecoder()
    assert dec.feed(raw[:cut]) == []
    assert dec.feed(raw[cut:]) == [SSEEvent(None, "😀")]


def test_crlf_split_between_cr_and_lf_is_one_line_end() -> None:
    dec = SSEDecoder()
    assert dec.feed(b"data: a\r") == []
    assert dec.feed(b"\n\r") == []
    assert dec.feed(b"\n") == [SSEEvent(None, "a")]
    assert dec.flush() == []


def test_events_returned_as_soon_as_complete() -> None:
    dec = SSEDecoder()
    assert dec.feed(b"data: 1\n\ndata: 2\n") == [SSEEvent(None, "1")]
    assert dec.feed(b"\n") == [SSEEvent(None, "2")]


@pytest.mark.parametrize(
    ("event", "data", "expected"),
    [
        ("ping", {"type": "ping"}, b'event: ping\ndata: {"type":"ping"}\n\n'),
        (None, "[DONE]", b"data: [DONE]\n\n"),
        (None, {"a": "é"}, 'data: {"a":"é"}\n\n'.encode()),
        ("x", "a\nb", b"event: x\ndata: a\ndata: b\n\n"),
    ],
)
def test_encode(event: str | None, data: object, expected: bytes) -> None:
    assert encode_sse(event, data) == expected  # type: ignore[arg-type]


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=20)
_events = st.lists(st.tuples(st.one_of(st.none(), st.sampled_from(["a", "message_delta"])), _text), max_size=8)


@st.composite
def _stream_and_splits(draw: st.DrawFn) -> tuple[bytes, list[bytes], list[tuple[str | None, str]]]:
    events = draw(_events)
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    raw = b""
    for ev, data in events:
        if draw(st.booleans()):
            raw += b": OPENROUTER PROCESSING" + newline + newline
        frame = encode_sse(ev, data)
        raw += frame.replace(b"\n", newline)
    cuts = sorted(draw(st.lists(st.integers(0, len(raw)), max_size=12)))
    chunks, prev = [], 0
    for c in [*cuts, len(raw)]:
        chunks.append(raw[prev:c])
        prev = c
    return raw, chunks, events


@settings(max_examples=300, deadline=None)
@given(_stream_and_splits())
def test_property_rechunking_gives_same_events(case: tuple[bytes, list[bytes], list]) -> None:
    raw, chunks, events = case
    whole = decode_all([raw])
    assert decode_all(chunks) == whole
    assert whole == [SSEEvent(ev, data) for ev, data in events]
