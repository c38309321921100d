"""Choose the stores for a deployment: local (SQLite + token file) or AWS (DynamoDB + Secrets Manager)."""

from __future__ import annotations

from ..settings import Settings
from .base import Backends


def build_backends(settings: Settings) -> Backends:
    if settings.backend == "aws":
        from .aws import build_aws_backends  # boto3 clients only where they are used

        return build_aws_backends(settings)
    from .local import FileTokenStore, SqliteDatabase, SqliteKeyStore, SqliteUsageStore
    from .memory_rates import MemoryRateStore
    from .sqlite_rates import SqliteRateStore
    from .sqlite_responses import SqliteResponseStore

    db = SqliteDatabase(settings.database_file)
    return Backends(
        token_store=FileTokenStore(settings.token_file),
        key_store=SqliteKeyStore(db),
        usage_store=SqliteUsageStore(db),
        # one process keeps its counters in memory; several workers share them through the database
        rate_store=MemoryRateStore() if settings.workers == 1 else SqliteRateStore(db),
        response_store=SqliteResponseStore(db),
    )
