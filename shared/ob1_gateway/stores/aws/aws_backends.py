"""AWS backend: the OB-1 login in Secrets Manager, keys and usage in one DynamoDB table.

``settings.aws_endpoint_url`` points every client at a local moto server in tests.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
import botocore.session
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config
from botocore.loaders import JSONFileLoader, Loader, instance_cache

from ...settings import Settings, SettingsError
from ..base import Backends
from .aws_keys import DuplicateKeyError, DynamoKeyStore
from .aws_rates import DynamoRateStore
from .aws_tokens import LeaseTimeout, SecretsManagerTokenStore
from .aws_usage import DynamoUsageStore
from .s3_responses import S3ResponseStore

__all__ = [
    "DuplicateKeyError",
    "DynamoKeyStore",
    "DynamoUsageStore",
    "LeaseTimeout",
    "SecretsManagerTokenStore",
    "aws_client",
    "build_aws_backends",
]

# Standard retries cover throttling; a larger pool lets usage writes from many threads share a client.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=64)


class _PlainJSONFileLoader(JSONFileLoader):  # type: ignore[misc]
    """botocore's model files parsed into plain dicts: its ``OrderedDict`` hook made parsing the DynamoDB,
    Secrets Manager and S3 models and the endpoint data ~3x slower (dicts keep their order, and nothing
    in botocore needs more)."""

    def _load_file(self, full_path: str, open_method: Any) -> Any:
        if not os.path.isfile(full_path):
            return None
        with open_method(full_path, "rb") as fp:
            return json.loads(fp.read())


class _ModelLoader(Loader):  # type: ignore[misc]
    """botocore's loader, except that every folder of its data path counts as a service: the stock one
    lists each of ~450 service folders and their versions to learn which exist, once per kind of model,
    on every cold start (bench/README.md, "StreamFunction's init"). A folder without the model asked for
    still ends in botocore's own error."""

    @instance_cache  # type: ignore[untyped-decorator]
    def list_available_services(self, type_name: str) -> list[str]:
        return sorted({name for path in self._potential_locations() for name in os.listdir(path) if "." not in name})


@cache
def _session() -> boto3.session.Session:
    """One session per process: its loader caches botocore's service and endpoint data, which a session
    per client would read again on every cold start. ``AWS_DATA_PATH`` is honoured."""
    core = botocore.session.Session()
    data_path = core.get_config_variable("data_path")
    core.register_component(
        "data_loader",
        _ModelLoader(
            extra_search_paths=data_path.split(os.pathsep) if data_path else None, file_loader=_PlainJSONFileLoader()
        ),
    )
    return boto3.session.Session(botocore_session=core)


_session_lock = threading.Lock()  # a boto3 session is not safe for creating clients from several threads


def aws_client(service: str, settings: Settings | None = None, **kwargs: Any) -> Any:
    """A boto3 client honouring ``aws_endpoint_url`` (moto in tests, real AWS otherwise)."""
    endpoint = (settings.aws_endpoint_url or None) if settings else None  # "" (template default) = AWS
    config = _CLIENT_CONFIG
    if endpoint and service == "s3":  # a local endpoint (moto) has no per-bucket host names
        config = config.merge(Config(s3={"addressing_style": "path"}))
    with _session_lock:
        return _session().client(service, endpoint_url=endpoint, config=config, **kwargs)


def build_aws_backends(settings: Settings) -> Backends:
    missing = [name for name in ("secret_id", "table_name") if not getattr(settings, name)]
    if missing:
        raise SettingsError("the aws backend needs " + " and ".join(f"OB1GW_{name.upper()}" for name in missing))
    assert settings.secret_id and settings.table_name
    bucket = settings.responses_bucket  # the stack sets it; admin commands (keys, usage) do without
    dynamodb = aws_client("dynamodb", settings)
    return Backends(
        token_store=SecretsManagerTokenStore(
            aws_client("secretsmanager", settings), dynamodb, settings.secret_id, settings.table_name
        ),
        key_store=DynamoKeyStore(dynamodb, settings.table_name),
        usage_store=DynamoUsageStore(dynamodb, settings.table_name),
        rate_store=DynamoRateStore(dynamodb, settings.table_name),
        response_store=S3ResponseStore(aws_client("s3", settings), bucket) if bucket else None,
        secrets=_secret_reader(settings),
    )


def _secret_reader(settings: Settings) -> Callable[[str], str]:
    """Reads a secret's string (Powertools caches it for 5 minutes); its client is made on first use, not at a cold
    start that needs no secret."""
    provider: SecretsProvider | None = None

    def read(secret_id: str) -> str:
        nonlocal provider
        if provider is None:
            provider = SecretsProvider(boto3_client=aws_client("secretsmanager", settings))
        return str(provider.get(secret_id))

    return read
