"""Choose the stores for a deployment: local (SQLite + token file) or AWS (DynamoDB + Secrets Manager)."""

from __future__ import annotations

from ..settings import Settings
from .base import Backends


def build_backends(settings: Settings) -> Backends:
    if settings.backend == "aws":
        from .aws.aws_backends import build_aws_backends  # boto3 clients only where they are used

        return build_aws_backends(settings)
    from .local.local_stores import FileTokenStore, SqliteDatabase, SqliteKeyStore, SqliteUsageStore
    from .local.memory_rates import MemoryRateStore
    from .local.sqlite_rates import SqliteRateStore
    from .local.sqlite_responses import SqliteResponseStore

    db = SqliteDatabase(settings.database_file)
    return Backends(
        token_store=FileTokenStore(settings.token_file),
        key_store=SqliteKeyStore(db),
        usage_store=SqliteUsageStore(db),
        # one process keeps its counters in memory; several workers share them through the database
        rate_store=MemoryRateStore() if settings.workers == 1 else SqliteRateStore(db),
        response_store=SqliteResponseStore(db),
    )
