"""Chat completions streamed to an OpenAI caller: the upstream's chunks as they are, so the route can use
the one relay the translated APIs use. Only usage needs care: the gateway always asks the upstream for
it (to meter), and the caller sees the usage-only chunk only if it asked for it."""

from __future__ import annotations

from typing import Any

from .errors import openai_error_body
from .sse import Event
from .usage import Usage, usage_from_openai

__all__ = ["ChatPassthrough"]

_DONE: Event = (None, "[DONE]")


class ChatPassthrough:
    """A ``StreamTranslator`` that changes nothing but the usage a caller did not ask for."""

    failed_status: int | None = None

    def __init__(self, *, client_wants_usage: bool) -> None:
        self._client_wants_usage = client_wants_usage
        self._usage = Usage()

    @property
    def usage(self) -> Usage:
        return self._usage

    def start(self) -> list[Event]:
        return []

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        if chunk.get("usage"):
            self._usage = usage_from_openai(chunk["usage"])
            if not self._client_wants_usage:
                if not chunk.get("choices"):
                    return []
                chunk = {k: v for k, v in chunk.items() if k != "usage"}
        return [(None, chunk)]

    def finish(self) -> list[Event]:
        return [_DONE]

    def fail(self, status: int, message: str) -> list[Event]:
        """OpenAI's in-stream error: an error chunk and no ``[DONE]``."""
        return [(None, openai_error_body(status, message))]
