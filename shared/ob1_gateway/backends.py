"""Choose the stores for a deployment: local (SQLite + token file) or AWS (DynamoDB + Secrets Manager)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .ratelimit import MemoryRateStore, RateStore
from .settings import Settings
from .stores.base import KeyStore, TokenStore, UsageStore


@dataclass(frozen=True)
class Backends:
    token_store: TokenStore
    key_store: KeyStore
    usage_store: UsageStore
    rate_store: RateStore = field(default_factory=MemoryRateStore)  # one process: ob1gw serve


def build_backends(settings: Settings) -> Backends:
    if settings.backend == "aws":
        from .stores.aws import build_aws_backends  # boto3 clients only where they are used

        return build_aws_backends(settings)
    from .stores.local import FileTokenStore, SqliteDatabase, SqliteKeyStore, SqliteUsageStore

    db = SqliteDatabase(settings.database_file)
    return Backends(
        token_store=FileTokenStore(settings.token_file),
        key_store=SqliteKeyStore(db),
        usage_store=SqliteUsageStore(db),
    )
