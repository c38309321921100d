"""Every OB1GW_ setting in one validated object, so a bad value fails at start and names itself."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

OB1_UPSTREAM_URL = "https://dashboard.openblocklabs.com/api/v1"
WORKOS_AUTH_URL = "https://api.workos.com/user_management"
OB1_CLIENT_ID = "client_01K8YDZSSKDMK8GYTEHBAW4N4S"


class SettingsError(ValueError):
    """Raised with a message naming each invalid OB1GW_ variable."""


class Settings(BaseSettings):
    # An empty variable is an unset one (OB1GW_TRACER= means the default, not an invalid boolean).
    model_config = SettingsConfigDict(
        env_prefix="OB1GW_", extra="ignore", frozen=True, populate_by_name=True, env_ignore_empty=True
    )

    home: Path = Field(default=Path("~/.ob1gw"), description="Data directory for the local backend.")
    backend: Literal["local", "aws"] = "local"

    upstream_url: str = OB1_UPSTREAM_URL
    upstream_api_key: SecretStr | None = Field(
        default=None, description="Static key for any OpenAI-compatible upstream; skips the OB-1 login."
    )
    auth_url: str = WORKOS_AUTH_URL
    client_id: str = OB1_CLIENT_ID
    send_ob1_client_headers: bool = True

    model_aliases: dict[str, str] = Field(default_factory=dict)
    model_family_fallback: bool = Field(
        default=True,
        description="An unknown Claude version is served by the newest model of its family (named in the "
        "x-ob1gw-model header); off: it is a 404 naming the nearest models.",
    )
    chat_allowed_fields: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(),
        description="OpenRouter routing and paid fields a /v1/chat/completions caller may set (comma-separated: "
        "models, provider, route, plugins, transforms, debug, web_search_options); refused by name otherwise. "
        "An allowed models list is checked against the key's models entry by entry.",
    )
    api_docs: bool = Field(
        default=False, description="Serve /docs, /redoc and /openapi.json (off: they answer 404, as on AWS)."
    )
    models_ttl_seconds: float = Field(default=300.0, gt=0)
    pricing: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="USD per million tokens by model: input/output/cache_read/cache_write."
    )

    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=600.0, gt=0)
    first_byte_timeout: float = Field(
        default=120.0,
        gt=0,
        description="Seconds to wait for the upstream's response headers on streaming chat and the model "
        "list (a non-stream completion's headers come with its body, so only read_timeout bounds it). "
        "A stream's headers also wait at most stream_idle_timeout (it is that request's read timeout).",
    )
    stream_idle_timeout: float = Field(
        default=300.0,
        gt=0,
        description="Longest silence between upstream stream bytes (SSE comments count) before the stream "
        "is declared dead and the client gets an error event.",
    )
    max_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Retries for connect errors, 429 and 5xx before the first byte reaches the client.",
    )
    retry_backoff_seconds: float = Field(default=0.25, ge=0, description="Base of the exponential backoff.")
    retry_max_wait_seconds: float = Field(
        default=8.0,
        ge=0,
        description="Cap on one wait; a Retry-After longer than this is not waited for (the error is returned).",
    )
    upstream_max_connections: int = Field(
        default=2048,
        ge=1,
        description="Upstream connections open at once: with a model that answers in T seconds, at most "
        "this / T requests per second (beyond, requests wait for a connection).",
    )
    upstream_keepalive_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long an idle upstream connection is kept for reuse (a new TLS handshake costs more; "
        "an idle one costs a socket and a few KB).",
    )
    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    body_timeout_seconds: float = Field(
        default=120.0, gt=0, description="Longest time to receive a whole request body (408 after)."
    )
    # ob1gw serve's HTTP server (hosting/server.py)
    max_header_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Largest request head (request line + headers); 431 beyond."
    )
    header_timeout_seconds: float = Field(
        default=15.0, gt=0, description="Longest wait for a complete request head on a connection; 408 after."
    )
    max_connections: int = Field(
        default=4096, ge=1, description="Connections (or requests in flight) served at once; 503 beyond."
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Processes sharing the port (a core each). Above 1, rate-limit counters live in the SQLite "
        "database so every process sees the same counts; each process costs ~80-100 MB.",
    )
    refresh_margin_seconds: float = Field(default=300.0, ge=0)
    key_cache_ttl_seconds: float = Field(default=30.0, ge=0, le=60)
    key_miss_cache_ttl_seconds: float = Field(
        default=10.0,
        ge=0,
        le=60,
        description="How long a refused key id is answered from memory: a forged key repeated costs one store "
        "read per this per process; a key created after its id was refused works within this.",
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    powertools: bool | None = Field(
        default=None,
        description="Powertools JSON logs and EMF metrics; unset: on in Lambda and on the AWS backend only.",
    )
    tracer: bool = Field(
        default=False,
        description="Powertools Tracer (X-Ray subsegments for boto3). Off by default: the X-Ray SDK adds ~100 ms "
        "to a cold start, and Lambda's Active tracing records each invocation without it.",
    )
    keeper_margin_seconds: float = Field(
        default=1200.0, gt=0, description="The token keeper refreshes a login expiring within this (its schedule x2)."
    )
    # Set by AWS, not by us: read through here so that nothing else reads the environment.
    lambda_function_name: str | None = Field(default=None, validation_alias="AWS_LAMBDA_FUNCTION_NAME")
    service_name: str = Field(default="ob1-gateway", validation_alias="POWERTOOLS_SERVICE_NAME")
    metrics_namespace: str = Field(default="OB1Gateway", validation_alias="POWERTOOLS_METRICS_NAMESPACE")
    metrics_token: SecretStr | None = Field(
        default=None, description="Enables GET /metrics (Prometheus) for bearers of this token; off when unset."
    )

    responses_max_conversation_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Largest stored conversation a previous_response_id may continue (its JSON); 400 beyond.",
    )
    responses_ttl_days: float = Field(
        default=30.0, gt=0, le=3650, description="How long stored Responses are kept (store not false), as OpenAI."
    )

    # The gateway's own web tools (issue 30; docs/web-search.md)
    web_search: Literal["off", "upstream", "searxng", "tavily", "brave", "exa"] = Field(
        default="off",
        description="Who runs the web search tool callers offer (Anthropic web_search_*, Responses web_search, "
        "chat web_search_options): off (refused by name, as without this gateway feature), upstream (OpenRouter's "
        "web plugin, asked of the upstream), or a provider the gateway calls.",
    )
    web_search_url: str | None = Field(
        default=None, description="The provider's API (its public one by default; SearXNG, self-hosted, has none)."
    )
    web_search_api_key: SecretStr | None = Field(
        default=None, description="The provider's key (Tavily, Brave, Exa). On AWS it is read from Secrets Manager."
    )
    web_search_api_key_secret_id: str | None = Field(
        default=None, description="On AWS: the Secrets Manager secret holding the provider's key (set by the stack)."
    )
    web_search_price_usd: float | None = Field(
        default=None, ge=0, description="What one search costs, added to the request's cost (default: list price)."
    )
    web_search_max_results: int = Field(default=5, ge=1, le=20, description="Results one search hands the model.")
    web_fetch: bool = Field(
        default=False,
        description="Run the web fetch tool (Anthropic web_fetch_*): on or off. Loopback, private, link-local and "
        "metadata addresses are always refused.",
    )

    # AWS backend
    secret_id: str | None = None
    table_name: str | None = None
    responses_bucket: str | None = Field(default=None, description="S3 bucket for stored Responses.")
    aws_endpoint_url: str | None = Field(default=None, description="For tests against a local moto server.")

    @field_validator("upstream_url", "auth_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("web_search_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _web_search_complete(self) -> Settings:
        if self.web_search == "searxng" and not self.web_search_url:
            raise ValueError("OB1GW_WEB_SEARCH=searxng needs OB1GW_WEB_SEARCH_URL (your SearXNG's address)")
        keyed = self.web_search in ("tavily", "brave", "exa")
        if keyed and self.web_search_api_key is None and not self.web_search_api_key_secret_id:
            raise ValueError(
                f"OB1GW_WEB_SEARCH={self.web_search} needs OB1GW_WEB_SEARCH_API_KEY (or, on AWS, "
                "OB1GW_WEB_SEARCH_API_KEY_SECRET_ID)"
            )
        return self

    @field_validator("chat_allowed_fields", mode="before")
    @classmethod
    def _field_names(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        from .translate.chat.chat_fields import ADMIN_FIELDS

        names = frozenset(n.strip() for n in value.split(",") if n.strip())
        unknown = sorted(names - ADMIN_FIELDS)
        if unknown:
            known = ", ".join(sorted(ADMIN_FIELDS))
            raise ValueError(f"not an admin-only field: {', '.join(unknown)} (one of {known})")
        return names

    @field_validator("home")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def in_lambda(self) -> bool:
        return bool(self.lambda_function_name)

    @property
    def powertools_wanted(self) -> bool:
        """Powertools runs on AWS unless ``OB1GW_POWERTOOLS`` says otherwise."""
        if self.powertools is not None:
            return self.powertools
        return self.in_lambda or self.backend == "aws"

    @property
    def token_file(self) -> Path:
        return self.home / "ob1-token.json"

    @property
    def database_file(self) -> Path:
        return self.home / "gateway.sqlite3"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, turning validation errors into one readable message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = "_".join(str(p) for p in err["loc"])
            if not loc:  # a check across settings names its variables itself
                problems.append(str(err["msg"]).removeprefix("Value error, "))
                continue
            name = loc if loc.isupper() else "OB1GW_" + loc.upper()  # an alias is the variable's own name
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
    except SourceError as exc:  # a value that is not even parseable, e.g. malformed JSON for a dict
        match = re.search(r'field "(\w+)"', str(exc))
        name = f"OB1GW_{match.group(1).upper()}" if match else "an OB1GW_ variable"
        raise SettingsError(f"invalid settings: {name}: not valid JSON") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
