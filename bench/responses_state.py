"""``python -m bench.responses_state``: what stored Responses cost per request, per store.

A stored response costs one write before its answer is sent (``ResponseState.keep``); a continued one
(``previous_response_id`` or ``item_reference``) one read before it goes upstream
(``ResponseState.continuation``). Both are timed here sequentially, on the data directory's SQLite
(``ob1gw serve``) and on S3 through moto's server on 127.0.0.1 (``ob1_gateway.cli.local_aws``, the bucket from
template.yaml), for conversations of growing size up to the gateway's body limit, with the bytes stored
(gzip'd JSON of English-like text). moto answers from memory; S3 in-region answers a PUT or GET of a few
KB in ~10-30 ms, which is the figure to expect on Lambda (bench/README.md)."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ob1_gateway.access.keys import issue_key
from ob1_gateway.api.response_state import ResponseState
from ob1_gateway.cli import local_aws as devstack
from ob1_gateway.settings import Settings
from ob1_gateway.stores.aws.s3_responses import S3ResponseStore
from ob1_gateway.stores.base import ResponseStore, StoredResponse
from ob1_gateway.stores.local.local_stores import SqliteDatabase
from ob1_gateway.stores.local.sqlite_responses import SqliteResponseStore
from ob1_gateway.translate.responses.responses_items import new_response_id

from bench.stats import fmt, markdown_table

ROOT = Path(__file__).resolve().parent.parent
S3_PRICE_GB_MONTH = 0.023  # S3 Standard, us-east-1, first 50 TB
S3_PUT_PER_1000 = 0.005
WORDS = [
    "the",
    "a",
    "gateway",
    "model",
    "request",
    "response",
    "token",
    "stream",
    "tool",
    "call",
    "function",
    "result",
    "file",
    "line",
    "code",
    "error",
    "test",
    "value",
    "list",
    "item",
    "key",
    "store",
    "read",
    "write",
    "user",
    "assistant",
    "system",
    "message",
    "text",
    "input",
    "output",
    "json",
    "python",
    "def",
    "return",
    "import",
    "class",
    "self",
    "if",
    "else",
    "for",
    "in",
    "while",
    "try",
    "except",
    "with",
    "as",
    "from",
    "not",
    "and",
    "or",
    "is",
    "none",
    "true",
    "false",
]


def conversation(total_bytes: int, rng: random.Random) -> list[dict[str, Any]]:
    """Alternating user/assistant messages of English-like text adding up to about ``total_bytes``."""
    items: list[dict[str, Any]] = []
    size, turn = 0, 0
    while size < total_bytes:
        text = " ".join(rng.choice(WORDS) for _ in range(min(2000, max(1, (total_bytes - size) // 6))))
        role = "user" if turn % 2 == 0 else "assistant"
        kind = "input_text" if role == "user" else "output_text"
        items.append({"type": "message", "id": f"msg_{turn}", "role": role, "content": [{"type": kind, "text": text}]})
        size += len(text) + 80
        turn += 1
    return items


def measure(state: ResponseState, store: ResponseStore, size: int, rounds: int) -> tuple[float, float, int]:
    """(write ms p50, read ms p50, stored bytes) for a conversation of ``size`` bytes."""
    record, _ = issue_key("bench")
    rng = random.Random(size)
    items = conversation(size, rng)
    writes, reads, stored = [], [], 0
    for _ in range(rounds):
        response_id = new_response_id()
        response = {"id": response_id, "object": "response", "status": "completed", "output": items[-1:]}
        started = time.perf_counter()
        assert asyncio.run(state.keep(record, response, items[:-1]))
        writes.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        continued = asyncio.run(state.continuation(record, {"input": "next", "previous_response_id": response_id}))
        reads.append((time.perf_counter() - started) * 1000)
        assert len(continued.history) == len(items)
        stored = len(StoredResponse(record.key_id, response_id, 0, 0, response, items[:-1]).to_bytes())
    return statistics.median(writes), statistics.median(reads), stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="writes and reads per size (fewer above 1 MB)")
    parser.add_argument("--sizes", default="2000,100000,1000000,32000000", help="conversation sizes in bytes")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with devstack.running_moto() as endpoint:
        bucket = devstack.create_responses_bucket(devstack.load_template(ROOT / "template.yaml"), endpoint)
        with tempfile.TemporaryDirectory() as home:
            stores: dict[str, ResponseStore] = {
                "SQLite (ob1gw serve)": SqliteResponseStore(SqliteDatabase(Path(home) / "gateway.sqlite3")),
                "S3 via moto (Lambda)": S3ResponseStore(devstack.aws("s3", endpoint), bucket),
            }
            rows = []
            for size in sizes:
                rounds = args.rounds if size <= 1_000_000 else 3
                for name, store in stores.items():
                    state = ResponseState(store, Settings(home=Path(home)))
                    write, read, stored = measure(state, store, size, rounds)
                    rows.append([f"{size / 1e6:g} MB", name, fmt(write), fmt(read), f"{stored / 1e6:.3f} MB"])
        print(markdown_table(["conversation", "store", "write p50 (ms)", "continue p50 (ms)", "stored"], rows))
        print(
            f"\nS3 Standard: ${S3_PRICE_GB_MONTH}/GB-month, ${S3_PUT_PER_1000} per 1,000 PUTs (GETs $0.0004 per 1,000)."
        )


if __name__ == "__main__":
    main()
