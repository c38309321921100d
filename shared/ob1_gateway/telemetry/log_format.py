"""``ob1gw serve``'s text log lines. A request's usage record (the logger ``ob1_gateway.usage`` logs it with
the message "usage" and the record as ``extra``, which Powertools renders as JSON on AWS) reads here as
one line an operator can scan: method, path, status, key, model, tokens, cost, latency. A request without
a usage record (a refusal: message "request", api/request_log.py) reads the same way, with its reason."""

from __future__ import annotations

import copy
import logging
from typing import Any

__all__ = ["ReadableFormatter", "describe_request", "describe_usage"]


def describe_usage(usage: dict[str, Any]) -> str:
    key = usage.get("key_name") or usage.get("key_id")
    tokens = f"in {usage.get('input_tokens', 0)} out {usage.get('output_tokens', 0)}"
    if usage.get("cache_read_tokens") or usage.get("cache_write_tokens"):
        tokens += f" cache r{usage.get('cache_read_tokens', 0)}/w{usage.get('cache_write_tokens', 0)}"
    parts = [
        f"POST {usage.get('route')} {usage.get('status')}",
        f"key={key}",
        f"model={usage.get('model') or '-'}",
        tokens,
        f"${float(usage.get('cost_usd') or 0):.6f}",
        f"{float(usage.get('latency_ms') or 0):.0f} ms",
    ]
    if usage.get("stream"):
        ttft = usage.get("ttft_ms")
        parts.append("stream" + (f" ttft {float(ttft):.0f} ms" if ttft is not None else ""))
    if usage.get("web_searches") or usage.get("web_fetches"):  # the gateway's web tools (counts, never queries)
        parts.append(f"web searches {usage.get('web_searches', 0)} fetches {usage.get('web_fetches', 0)}")
    if usage.get("estimated"):
        parts.append("estimated (client left mid-stream)")
    if usage.get("session_id"):
        parts.append(f"session={usage['session_id']}")
    parts.append(f"id={usage.get('request_id')}")  # the request-id header the caller got, as on a refusal's line
    return " ".join(parts)


def describe_request(request: dict[str, Any]) -> str:
    key = request.get("key_name") or request.get("key_id") or "-"
    parts = [f"{request.get('method')} {request.get('path')} {request.get('status')}", f"key={key}"]
    if request.get("reason"):
        parts.append(f"refused: {request['reason']};")
    parts += [f"{float(request.get('latency_ms') or 0):.0f} ms", f"id={request.get('request_id')}"]
    return " ".join(parts)


class ReadableFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        usage = getattr(record, "usage", None)
        if isinstance(usage, dict) and record.msg == "usage":
            record = copy.copy(record)
            record.msg, record.args = describe_usage(usage), None
        request = getattr(record, "request", None)
        if isinstance(request, dict) and record.msg == "request":
            record = copy.copy(record)
            record.msg, record.args = describe_request(request), None
        return super().format(record)
