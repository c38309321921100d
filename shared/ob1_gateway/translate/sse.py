"""Server-sent events framing, both directions.

The decoder is incremental because upstream bytes arrive split anywhere (mid-line, mid-UTF-8 character).
It follows the WHATWG SSE parsing rules that matter here: lines end in ``\\n``, ``\\r\\n`` or ``\\r``;
lines starting with ``:`` are comments (OpenRouter's ``: OPENROUTER PROCESSING`` keep-alives); ``data``
lines of one event are joined with ``\\n``; an event is dispatched on a blank line; ``id`` / ``retry``
and unknown fields are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .json_codec import COMPACT_UTF8

__all__ = ["Event", "SSEDecoder", "SSEEvent", "encode_sse"]

Event = tuple[
    str | None, dict[str, Any] | str
]  # an outgoing event: its name (None: unnamed) and data, as encode_sse takes them

_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its ``event`` field (None when absent) and its joined ``data``."""

    event: str | None
    data: str


class SSEDecoder:
    """Feed raw bytes, get complete events. Bytes are only decoded once a full line is buffered,
    so a multi-byte character split across chunks is never mangled (``\\n``/``\\r`` never occur
    inside a UTF-8 multi-byte sequence)."""

    __slots__ = ("_buf", "_data", "_event", "_started")

    def __init__(self) -> None:
        self._buf = b""
        self._data: list[str] = []
        self._event: str | None = None
        self._started = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if not chunk:
            return []
        buf = self._buf + chunk
        if b"\r" in buf:
            # A trailing CR may be the first half of CRLF: keep it until the next byte is known.
            hold = buf.endswith(b"\r")
            if hold:
                buf = buf[:-1]
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if hold:
                lines = buf.split(b"\n")
                lines[-1] += b"\r"
            else:
                lines = buf.split(b"\n")
        else:
            lines = buf.split(b"\n")
        self._buf = lines.pop()
        out: list[SSEEvent] = []
        for raw in lines:
            self._line(raw.decode("utf-8", "replace"), out)
        return out

    def flush(self) -> list[SSEEvent]:
        """End of stream: process an unterminated last line and dispatch a pending event.

        The spec discards an event that is not followed by a blank line; upstreams that end with
        ``data: [DONE]\\n`` and close are common, so we are lenient and dispatch it.
        """
        out: list[SSEEvent] = []
        rest, self._buf = self._buf, b""
        if rest.endswith(b"\r"):
            rest = rest[:-1]
        if rest:
            self._line(rest.decode("utf-8", "replace"), out)
        self._line("", out)
        return out

    def _line(self, line: str, out: list[SSEEvent]) -> None:
        if not self._started:
            self._started = True
            if line.startswith(_BOM):
                line = line[1:]
        if not line:
            if self._data:
                out.append(SSEEvent(self._event, "\n".join(self._data)))
            self._data = []
            self._event = None
            return
        if line[0] == ":":
            return
        field, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value


def encode_sse(event: str | None, data: str | dict[str, Any]) -> bytes:
    """One SSE frame. Dicts become compact JSON; a string with newlines becomes several ``data`` lines
    (so the receiver's join restores it exactly)."""
    if not isinstance(data, str):
        data = COMPACT_UTF8.encode(data)
    body = "data: " + data.replace("\r\n", "\n").replace("\n", "\ndata: ") + "\n\n"
    if event is not None:
        body = f"event: {event}\n" + body
    return body.encode("utf-8")
