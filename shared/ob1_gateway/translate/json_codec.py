"""The JSON encoders the hot path uses, each made once: ``json.dumps`` with any option set builds a new
``JSONEncoder`` on every call, a large part of an SSE event's encoding (bench/README.md, "CPU per
request")."""

from __future__ import annotations

import json

# Compact, ASCII-only: what is sent upstream.
COMPACT = json.JSONEncoder(separators=(",", ":"))
# Compact, UTF-8 as is: what is sent to a client (SSE events) and what the translator writes into fields.
COMPACT_UTF8 = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
