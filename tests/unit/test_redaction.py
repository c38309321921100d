"""Secrets never survive the log filter, whatever shape they arrive in."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from ob1_gateway.access.keys import issue_key
from ob1_gateway.telemetry.log_redaction import RedactingFilter, redact, scrub_record
from ob1_gateway.translate.error_bodies import upstream_error_message

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEiLCJleHAiOjk5OTk5OTk5OTl9.c2lnbmF0dXJlLWJ5dGVz"


def test_redact_known_shapes() -> None:
    _, key = issue_key("x")
    text = (
        f"key={key} auth: Bearer {JWT}:org_123 body "
        '{"refresh_token": "rt_secret_value", "access_token":"at_value"} x-api-key: sk-live-1'
    )
    cleaned = redact(text)
    for secret in (key, JWT, "rt_secret_value", "at_value", "sk-live-1"):
        assert secret not in cleaned
    assert "[redacted]" in cleaned


UPSTREAM_ERRORS = [
    "invalid grant refresh_token=rt_9f8e7d6c5b4a&grant_type=refresh_token",
    "provider said api_key: pk_live_abcdef123456 is not valid",
    '{"client_secret": "cs_top_secret_1"}',
    "Authorization=tok_abc123xyz rejected",
    f"session {JWT} expired",
]


@pytest.mark.parametrize("text", UPSTREAM_ERRORS)
def test_callers_and_logs_get_the_same_redaction(text: str) -> None:
    """What the log would hide, the caller's error message hides too (one redaction for both)."""
    secret = re.search(r"(rt_\w+|pk_live_\w+|cs_top_secret_1|tok_\w+|eyJ[\w.-]+)", text).group(1)
    shown = upstream_error_message(400, json.dumps({"error": {"message": text}}).encode())
    assert secret not in shown and secret not in redact(text)
    assert shown == redact(text)
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "upstream: %s", (text,), None)
    assert secret not in scrub_record(record).getMessage()


def test_filter_scrubs_messages_args_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    _, key = issue_key("x")
    try:
        logger.warning("caller %s used %s", key, f"Bearer {JWT}")
        try:
            raise ValueError(f"bad token {JWT}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert key not in output and JWT not in output
    assert output.count("[redacted]") >= 3


def test_powertools_json_keeps_the_exception_without_the_secret() -> None:
    """Powertools formats ``exc_info`` itself; the redacted record must still carry the type and frames."""
    import json

    from aws_lambda_powertools import Logger

    stream = io.StringIO()
    logger = Logger(service="redaction-test", logger_handler=logging.StreamHandler(stream))
    logger.registered_handler.addFilter(RedactingFilter())
    try:
        raise PermissionError(f"upstream said Bearer {JWT}")
    except PermissionError:
        logger.exception("refresh failed")
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert JWT not in stream.getvalue()
    assert line["exception_name"] == "PermissionError"
    assert "[redacted]" in line["exception"] and "test_powertools_json_keeps_the_exception" in line["exception"]
