"""Scrub secrets (caller keys, bearer tokens, JWTs, refresh tokens) from any text bound for a log,
with the same ``redact`` that cleans upstream error text shown to callers (``translate/redact.py``), and
escape control characters in it (a client's CR/LF in a path or a field must not start a forged line).
Every part of a record is cleaned: its message, arguments and structured extras (the usage and request
records that Powertools renders as JSON on AWS), its traceback and stack text.

``install_redaction()`` scrubs at three places, so no handler configured before or after it (uvicorn
configures its own, with ``propagate = False``) can print a secret:

- a log-record factory: every record is scrubbed when it is created — its message arguments, its
  message (when a secret hides in a non-string argument), its traceback text and its stack info;
- a ``RedactingFilter`` on every handler that exists at install time (root and named loggers), and an
  ``ExtrasFilter`` on every logger that exists then (the gateway's own among them): a call's ``extra=``
  fields are set on its record after the factory ran.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from ..translate.redact import redact

__all__ = ["ExtrasFilter", "RedactingFilter", "clean_text", "install_redaction", "redact", "scrub_record"]

# C0 and C1 controls (CR and LF among them), DEL and the Unicode line/paragraph separators: anything a log
# viewer may break a line on.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Every attribute a plain LogRecord has: anything else on a record is a structured extra.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_MAX_DEPTH = 8


def _escape(match: re.Match[str]) -> str:
    return ascii(match.group())[1:-1]


def clean_text(text: str) -> str:
    """``text`` fit for one log line: secrets redacted, control characters escaped (``\\n``, ``\\x00``)."""
    return _CONTROL.sub(_escape, redact(text))


def _clean_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {(clean_text(k) if isinstance(k, str) else k): _clean_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_clean_value(v, depth + 1) for v in value)
    return value


def _redact_arg(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a record in place. String arguments are redacted one by one, so formatters that read
    ``record.args`` (uvicorn's access log) keep working; a secret inside any other argument collapses
    the message to its redacted text."""
    if isinstance(record.msg, str):
        record.msg = clean_text(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_redact_arg(a) for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: _redact_arg(v) for k, v in record.args.items()}
    if record.args:
        try:
            message = record.getMessage()
        except Exception:  # a malformed logging call: logging reports it itself
            message = None
        if message is not None:
            cleaned = clean_text(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
    _clean_extras(record)
    if record.exc_info and record.exc_info[1] is not None and not getattr(record.exc_info[1], "_ob1_redacted", False):
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        record.exc_info = _redacted_exc_info(record.exc_info)
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def _clean_extras(record: logging.LogRecord) -> None:
    """The record's structured extras (``extra=``) cleaned like its message. ``Logger.makeRecord`` sets
    them after the record factory ran, so the loggers' ``ExtrasFilter`` calls this too."""
    for name, value in record.__dict__.items():
        if name not in _STANDARD and isinstance(value, str | dict | list | tuple):
            record.__dict__[name] = _clean_value(value)


class ExtrasFilter(logging.Filter):
    """On every logger: the extras a call passed, which the record factory cannot see."""

    def filter(self, record: logging.LogRecord) -> bool:
        _clean_extras(record)
        return True


def _redacted_exc_info(exc_info: Any) -> tuple[type[BaseException], BaseException, Any]:
    """The exception swapped for a stand-in with the same name and module and a redacted message, over
    the same traceback. Formatters that read ``exc_info`` themselves (Powertools' JSON ``exception`` and
    ``exception_name``) still get the type, the frames and the message, without the secret."""
    exc_type, exc, tb = exc_info
    stand_in = type(exc_type.__name__, (Exception,), {"__module__": exc_type.__module__, "_ob1_redacted": True})
    return stand_in, stand_in(redact(str(exc))), tb


class RedactingFilter(logging.Filter):
    """Applied to handlers, so every record is scrubbed whichever logger produced it."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


def _install_factory() -> None:
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_ob1_redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return scrub_record(previous(*args, **kwargs))

    factory._ob1_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def install_redaction() -> None:
    _install_factory()
    loggers = [logging.getLogger()] + [
        logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        if not any(isinstance(f, ExtrasFilter) for f in logger.filters):
            logger.addFilter(ExtrasFilter())
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
