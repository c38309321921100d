"""``python -m tests.conformance.seed HOME KEY_ID``: before each of the openai suite's retrieve, delete and
cancel tests, store a response under the id those tests name (``PLACEHOLDER``) for the conformance key, so
they exercise the real endpoints (strict validation of the stored shape included) instead of a 404.

The response itself is a real one: ``tests/conformance/run.py`` makes it through the gateway once and
writes it (``SEED_FILE`` in HOME); this copies it under the placeholder id, as a fresh store would hold it."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from ob1_gateway.stores.base import StoredResponse
from ob1_gateway.stores.local.local_stores import SqliteDatabase
from ob1_gateway.stores.local.sqlite_responses import SqliteResponseStore

PLACEHOLDER = "resp_677efb5139a88190b512bc3fef8e535d"
SEED_FILE = "conformance-seed.gz"


def seed(home: Path, key_id: str) -> None:
    made = StoredResponse.from_bytes((home / SEED_FILE).read_bytes())
    response = {**made.response, "id": PLACEHOLDER}
    copy = dataclasses.replace(made, key_id=key_id, response_id=PLACEHOLDER, response=response)
    SqliteResponseStore(SqliteDatabase(home / "gateway.sqlite3")).put(copy)


if __name__ == "__main__":
    seed(Path(sys.argv[1]), sys.argv[2])
