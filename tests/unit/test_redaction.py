"""Secrets never survive the log filter, whatever shape they arrive in."""

from __future__ import annotations

import io
import logging

from ob1_gateway.keys import issue_key
from ob1_gateway.redaction import RedactingFilter, redact

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
    assert "[REDACTED]" in cleaned


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
    assert output.count("[REDACTED]") >= 3


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
    assert "[REDACTED]" in line["exception"] and "test_powertools_json_keeps_the_exception" in line["exception"]
