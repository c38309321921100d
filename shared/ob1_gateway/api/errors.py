"""Errors rendered in the calling API's own shape (``speaks_anthropic``): Anthropic's under /v1/messages
and for an Anthropic client anywhere else (/v1/models…, a route that does not exist), OpenAI's otherwise.

Unexpected exceptions are caught by ``RequestLog`` (request_log.py, inside Starlette's ``ServerErrorMiddleware``),
so the client always gets a 500 in the API's shape — never a dropped connection, never a traceback —
and the exception is logged once (through the redacting log filter) instead of being re-raised.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..telemetry.log_redaction import install_redaction
from ..translate.error_bodies import anthropic_error_body, openai_error_body
from ..translate.invalid import InvalidRequest
from .unsupported import unsupported_feature


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers or {}


_OPENAI_ONLY = ("/v1/chat/", "/v1/responses", "/v1/completions", "/v1/embeddings")


def speaks_anthropic(path: str, headers: Mapping[str, str]) -> bool:
    """Whose API a request speaks: a route of one API is that API's; on the others (``/v1/models…``, the
    gateway's own, an unknown path) the caller's headers tell: the Anthropic SDKs and Claude Code send
    ``anthropic-version``, and ``x-api-key`` is Anthropic's credential header (OpenAI's clients send
    ``Authorization``)."""
    if path.startswith("/v1/messages"):
        return True
    if path.startswith(_OPENAI_ONLY):
        return False
    return "anthropic-version" in headers or "x-api-key" in headers


def error_response(path: str, headers: Mapping[str, str], error: ApiError) -> JSONResponse:
    if speaks_anthropic(path, headers):
        body = anthropic_error_body(error.status, error.message)
    else:
        body = openai_error_body(error.status, error.message, param=error.param, code=error.code)
    return JSONResponse(body, status_code=error.status, headers=error.headers)


def install_error_handlers(app: FastAPI) -> None:
    # Every error path logs, and every deployment (ob1gw serve, Mangum, LWA + uvicorn) builds its app
    # through here: make sure no log line can carry a secret, whoever configured the handlers.
    install_redaction()

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request.url.path, request.headers, exc)

    @app.exception_handler(InvalidRequest)
    async def _invalid_request(request: Request, exc: InvalidRequest) -> JSONResponse:
        """A body that breaks the request contract (translate/schema.py) or a translator's rule."""
        return error_response(request.url.path, request.headers, ApiError(400, exc.message, param=exc.param))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        feature = unsupported_feature(request.method, request.url.path) if exc.status_code in (404, 405) else None
        if feature is not None:
            return error_response(request.url.path, request.headers, ApiError(404, feature))
        if exc.status_code == 404:
            message = f"no route for {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"{request.method} is not supported on {request.url.path}"
        error = ApiError(exc.status_code, message, headers=dict(exc.headers or {}))
        return error_response(request.url.path, request.headers, error)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        param = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
        error = ApiError(400, str(first.get("msg", "invalid request")), param=param)
        return error_response(request.url.path, request.headers, error)
