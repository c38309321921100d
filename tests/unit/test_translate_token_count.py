"""Heuristic input-token estimate: documented arithmetic, monotonic growth, never raises."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ob1_gateway.translate.token_count import estimate_input_tokens, image_tokens


def png(w: int, h: int) -> str:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    raw = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return base64.b64encode(raw).decode()


def gif(w: int, h: int) -> str:
    return base64.b64encode(b"GIF89a" + struct.pack("<HH", w, h) + b"\x00" * 8).decode()


def jpeg(w: int, h: int) -> str:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    sof = b"\xff\xc0" + struct.pack(">HBHH", 17, 8, h, w) + b"\x03" + b"\x00" * 9
    return base64.b64encode(b"\xff\xd8" + app0 + sof + b"\xff\xd9").decode()


def src(data: str, media: str = "image/png") -> dict[str, Any]:
    return {"type": "base64", "media_type": media, "data": data}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (src(png(200, 150)), 40),  # ceil(200*150/750)
        (src(gif(750, 1)), 1),
        (src(jpeg(300, 250)), 100),
        (src(png(3136, 3136)), 3279),  # scaled to 1568x1568 -> ceil(2458624/750)
        ({"type": "url", "url": "https://x/y.png"}, 1600),
        (src("bm90IGFuIGltYWdl"), 1600),
        (src("!!!not base64"), 1600),
        (None, 1600),
    ],
)
def test_image_tokens(source: Any, expected: int) -> None:
    assert image_tokens(source) == expected


def test_exact_count_for_a_simple_request() -> None:
    req = {
        "system": "x" * 8,  # 2
        "tools": [{"name": "ab", "description": "cd", "input_schema": {}}],  # 8 + ceil(len("abcd{}")/4)=2
        "messages": [
            {"role": "user", "content": "y" * 9},  # 4 + 3
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t", "name": "ab", "input": {}}],
            },  # 4 + 4 + 1
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t", "content": "zzzz"}],
            },  # 4 + 4 + 1
        ],
    }
    assert estimate_input_tokens(req) == 3 + 2 + 10 + 7 + 9 + 9


@pytest.mark.parametrize(
    "req",
    [None, [], {}, {"messages": "x"}, {"messages": [1, None, {"content": 5}]}, {"tools": [1], "system": 3}],
)
def test_malformed_input_never_raises(req: Any) -> None:
    assert estimate_input_tokens(req) >= 0


_block = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, st.text(max_size=50)),
    st.builds(lambda t: {"type": "thinking", "thinking": t, "signature": "s"}, st.text(max_size=50)),
    st.builds(lambda w, h: {"type": "image", "source": src(png(w, h))}, st.integers(1, 4000), st.integers(1, 4000)),
    st.builds(lambda t: {"type": "tool_result", "tool_use_id": "x", "content": t}, st.text(max_size=50)),
    st.builds(
        lambda d: {"type": "tool_use", "id": "x", "name": "n", "input": d},
        st.dictionaries(st.text(max_size=5), st.integers()),
    ),
)
_message = st.builds(
    lambda role, content: {"role": role, "content": content},
    st.sampled_from(["user", "assistant"]),
    st.one_of(st.text(max_size=80), st.lists(_block, max_size=4)),
)
_request = st.fixed_dictionaries(
    {"messages": st.lists(_message, max_size=4)},
    optional={
        "system": st.text(max_size=80),
        "tools": st.lists(
            st.fixed_dictionaries({"name": st.text(max_size=10), "input_schema": st.just({"type": "object"})}),
            max_size=3,
        ),
    },
)


@given(_request, _message, _block, st.text(min_size=1, max_size=50))
def test_property_monotonic(
    req: dict[str, Any], extra_message: dict[str, Any], extra_block: dict[str, Any], more: str
) -> None:
    base = estimate_input_tokens(req)
    assert base > 0
    assert estimate_input_tokens({**req, "messages": [*req["messages"], extra_message]}) > base
    grown = {**req, "messages": [*req["messages"], {"role": "user", "content": [extra_block]}]}
    assert estimate_input_tokens(grown) >= base + 4
    assert estimate_input_tokens({**req, "system": req.get("system", "") + more * 4}) > base
    tools = [*req.get("tools", []), {"name": "t", "input_schema": {}}]
    assert estimate_input_tokens({**req, "tools": tools}) > base
