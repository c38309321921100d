"""The single-table layout and DynamoDB value conversion, shared by the AWS stores.

Item keys, one place:
  KEY#<key_id> / META                           caller key; GSI1 = ("KEYS", <key_id>)
  KEY#<key_id> / REQ#<request_id>               one request's usage (TTL ``expires_at``)
  KEY#<key_id> / DAY#<yyyy-mm-dd>#MODEL#<model> counters; GSI1 = ("USAGE", "DAY#<day>#KEY#<id>#MODEL#<m>")
  LOCK#ob1-token / LEASE                        the token refresh lease (TTL ``expires_at``)
GSI1 is sparse: REQ items carry no GSI1 attributes, so listing keys or summing all keys' days never
reads per-request items, however many the TTL window holds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

GSI1 = "GSI1"
KEYS_PARTITION = "KEYS"
USAGE_PARTITION = "USAGE"
LEASE_PK = "LOCK#ob1-token"
LEASE_SK = "LEASE"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def key_pk(key_id: str) -> str:
    return f"KEY#{key_id}"


def day_sk(day: str, model: str) -> str:
    return f"DAY#{day}#MODEL#{model}"


def req_sk(request_id: str) -> str:
    return f"REQ#{request_id}"


def _to_dynamo(value: Any) -> Any:
    """boto3 refuses floats; Decimal(str(x)) keeps the value a human would expect (0.1, not 0.1000…)."""
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_to_dynamo(v)) for k, v in item.items() if v is not None}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def to_int(value: Any) -> int:
    return int(value) if value is not None else 0


def to_float(value: Any) -> float | None:
    return float(value) if value is not None else None


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
