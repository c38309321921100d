"""Every response names its request: ``request-id`` (the header Anthropic's API sends) and
``x-request-id`` (OpenAI's). A metered request's id is its usage record's ``request_id``, so an answer can
be found on the bill; any other request (a refusal, ``/v1/models``) gets a fresh id, which its line in the
log (request_log.py) carries, so a client's error report can be found there."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request

from ..stores.base import KeyRecord

__all__ = ["metered_request_id", "new_request_id", "remember_key", "remember_request_id"]


def new_request_id() -> str:
    return uuid.uuid4().hex


def remember_request_id(request: Request, request_id: str) -> None:
    """The request is metered from here on: it ends in exactly one usage record with this id."""
    request.state.request_id = request_id


def metered_request_id(scope: dict[str, Any]) -> str | None:
    return (scope.get("state") or {}).get("request_id")


def remember_key(request: Request, key: KeyRecord) -> None:
    """The caller's key is known (its secret matched), so even a refusal's log line can name it."""
    request.state.key_id, request.state.key_name = key.key_id, key.name
