"""The one error every request translator raises for input it cannot translate."""

from __future__ import annotations

__all__ = ["InvalidRequest"]


class InvalidRequest(ValueError):
    """The client's request cannot be translated; routers answer 400 in their API's error shape."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
