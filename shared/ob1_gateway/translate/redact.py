"""The one redaction of secrets in text: caller keys, bearer tokens, JWTs, ``sk-`` keys and credential
fields (``refresh_token=…``, ``"api_key": …``). Used for upstream error text shown to callers and for
every log line (``telemetry/log_redaction.py``), so what a log hides a caller never sees either."""

from __future__ import annotations

import re

__all__ = ["MARKER", "redact"]

MARKER = "[redacted]"

# Whole matches are replaced.
_SECRETS = (
    re.compile(r"(?i)\bbearer\s+[^\s\"',;]+"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*)?"),
    re.compile(r"\bob1gw_[A-Za-z0-9_-]+"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),
)
# The field name (group 1) is kept, its value replaced: form bodies, JSON, headers, ``key: value`` text.
_FIELDS = re.compile(
    r"(?i)(\"?\b(?:access_token|refresh_token|id_token|client_secret|password|api[_-]?key|x-api-key|authorization)"
    r"\"?\s*[:=]\s*\"?)(?!\[redacted\])[^\s\"',;&}]+"
)


def redact(text: str) -> str:
    for pattern in _SECRETS:
        text = pattern.sub(MARKER, text)
    return _FIELDS.sub(lambda m: m.group(1) + MARKER, text)
