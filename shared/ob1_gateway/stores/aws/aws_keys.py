"""Caller keys in DynamoDB: ``KEY#<key_id> / META``, listed through the sparse GSI1 ("KEYS")."""

from __future__ import annotations

import json
from typing import Any

from ..base import KeyPolicy, KeyRecord
from .aws_items import GSI1, KEYS_PARTITION, deserialize, key_pk, serialize, to_float

_META = "META"


class DuplicateKeyError(ValueError):
    """A key with this id already exists (the local store raises sqlite3.IntegrityError here)."""


def _record(item: dict[str, Any]) -> KeyRecord:
    data = deserialize(item)
    return KeyRecord(
        key_id=str(data["key_id"]),
        name=str(data["name"]),
        secret_sha256=str(data["secret_sha256"]),
        created_at=float(data["created_at"]),
        disabled=bool(data.get("disabled", False)),
        budget_usd=to_float(data.get("budget_usd")),
        policy=KeyPolicy.from_dict(json.loads(data["policy"]) if data.get("policy") else None),
    )


class DynamoKeyStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    def _key(self, key_id: str) -> dict[str, Any]:
        return serialize({"PK": key_pk(key_id), "SK": _META})

    def put(self, record: KeyRecord) -> None:
        item = {
            "PK": key_pk(record.key_id),
            "SK": _META,
            "GSI1PK": KEYS_PARTITION,
            "GSI1SK": record.key_id,
            "key_id": record.key_id,
            "name": record.name,
            "secret_sha256": record.secret_sha256,
            "created_at": record.created_at,
            "disabled": record.disabled,
            "budget_usd": record.budget_usd,
            "policy": json.dumps(record.policy.to_dict()),
        }
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=serialize(item),
                ConditionExpression="attribute_not_exists(PK)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            raise DuplicateKeyError(f"key {record.key_id} already exists") from None

    def get(self, key_id: str) -> KeyRecord | None:
        # Strongly consistent: disabling a key must take effect on the next cache miss, not "soon".
        resp = self._client.get_item(TableName=self.table_name, Key=self._key(key_id), ConsistentRead=True)
        item = resp.get("Item")
        return _record(item) if item else None

    def list(self) -> list[KeyRecord]:
        pages = self._client.get_paginator("query").paginate(
            TableName=self.table_name,
            IndexName=GSI1,
            KeyConditionExpression="GSI1PK = :p",
            ExpressionAttributeValues=serialize({":p": KEYS_PARTITION}),
        )
        records = [_record(item) for page in pages for item in page.get("Items", [])]
        return sorted(records, key=lambda r: (r.created_at, r.key_id))

    def _update(
        self, key_id: str, expression: str, values: dict[str, Any] | None, condition: str = "attribute_exists(PK)"
    ) -> bool:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": self._key(key_id),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = serialize(values)
        try:
            self._client.update_item(**kwargs)
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def set_disabled(self, key_id: str, disabled: bool) -> bool:
        return self._update(key_id, "SET disabled = :d", {":d": disabled})

    def set_budget(self, key_id: str, budget_usd: float | None) -> bool:
        if budget_usd is None:
            return self._update(key_id, "REMOVE budget_usd", None)
        return self._update(key_id, "SET budget_usd = :b", {":b": float(budget_usd)})

    def set_secret_and_policy(
        self, key_id: str, secret_sha256: str, policy: KeyPolicy, *, expected_sha256: str | None = None
    ) -> bool:
        values = {":s": secret_sha256, ":p": json.dumps(policy.to_dict())}
        if expected_sha256 is None:
            return self._update(key_id, "SET secret_sha256 = :s, policy = :p", values)
        condition = "attribute_exists(PK) AND secret_sha256 = :e"
        return self._update(key_id, "SET secret_sha256 = :s, policy = :p", values | {":e": expected_sha256}, condition)
