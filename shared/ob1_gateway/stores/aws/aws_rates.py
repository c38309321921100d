"""Rate-limit counters in DynamoDB, shared by every Lambda instance (see ``access/rate_limits.py``).

  KEY#<key_id> / RATE#<minute>   requests, tokens of one UTC minute (TTL ``expires_at``: 5 minutes later)
  KEY#<key_id> / INFLIGHT        requests in flight

Each admission is one conditional ``UpdateItem`` (ADD 1 only while below the limits), so concurrent
instances can never together admit more than the limit: DynamoDB applies conditional updates to one
item one at a time. An instance that dies mid-request (a crash, a timeout) leaves its in-flight slot
taken: when the count is full and has not moved for longer than any request can last (Lambda's 15
minutes), every slot in it has leaked and it is reset. Slots leaked while others keep moving stay taken
until then (a documented limit).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from .aws_items import key_pk, serialize

_INFLIGHT = "INFLIGHT"
_TTL_AFTER_WINDOW = 300
_LONGEST_REQUEST_SECONDS = 900  # Lambda's maximum duration


def _rate_sk(window: int) -> str:
    return f"RATE#{window}"


class DynamoRateStore:
    blocking = True

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    def _key(self, key_id: str, sk: str) -> dict[str, Any]:
        return serialize({"PK": key_pk(key_id), "SK": sk})

    def take(self, key_id: str, window: int, rpm: int | None, tpm: int | None) -> tuple[str | None, int, int]:
        conditions, values = [], {":one": 1, ":exp": (window + 1) * 60 + _TTL_AFTER_WINDOW}
        if rpm is not None:
            conditions.append("(attribute_not_exists(requests) OR requests < :rpm)")
            values[":rpm"] = rpm
        if tpm is not None:
            conditions.append("(attribute_not_exists(tokens) OR tokens < :tpm)")
            values[":tpm"] = tpm
        try:
            resp = self._client.update_item(
                TableName=self.table_name,
                Key=self._key(key_id, _rate_sk(window)),
                UpdateExpression="ADD requests :one SET expires_at = :exp",
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeValues=serialize(values),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            item = exc.response.get("Item", {})
            requests, tokens = _count(item, "requests"), _count(item, "tokens")
            return ("requests" if rpm is not None and requests >= rpm else "tokens"), requests, tokens
        item = resp["Attributes"]
        return None, _count(item, "requests"), _count(item, "tokens")

    def add_tokens(self, key_id: str, window: int, tokens: int) -> None:
        self._client.update_item(
            TableName=self.table_name,
            Key=self._key(key_id, _rate_sk(window)),
            UpdateExpression="ADD tokens :n SET expires_at = if_not_exists(expires_at, :exp)",
            ExpressionAttributeValues=serialize({":n": tokens, ":exp": (window + 1) * 60 + _TTL_AFTER_WINDOW}),
        )

    def enter(self, key_id: str, max_parallel: int) -> bool:
        now = time.time()
        for _ in range(2):
            try:
                self._client.update_item(
                    TableName=self.table_name,
                    Key=self._key(key_id, _INFLIGHT),
                    UpdateExpression="ADD inflight :one SET touched = :now",
                    ConditionExpression="attribute_not_exists(inflight) OR inflight < :max",
                    ExpressionAttributeValues=serialize({":one": 1, ":max": max_parallel, ":now": now}),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except self._client.exceptions.ConditionalCheckFailedException as exc:
                touched = exc.response.get("Item", {}).get("touched", {}).get("N")
                if touched is None or float(touched) > now - _LONGEST_REQUEST_SECONDS:
                    return False
                self._reset_if_untouched(key_id, touched)  # only leaked slots can be that old
                continue
            return True
        return False

    def leave(self, key_id: str) -> None:
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):  # reset meanwhile
            self._client.update_item(
                TableName=self.table_name,
                Key=self._key(key_id, _INFLIGHT),
                UpdateExpression="ADD inflight :minus SET touched = :now",
                ConditionExpression="inflight > :zero",  # never below zero
                ExpressionAttributeValues=serialize({":minus": -1, ":zero": 0, ":now": time.time()}),
            )

    def _reset_if_untouched(self, key_id: str, touched: str) -> None:
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):  # it moved: not stale
            self._client.delete_item(
                TableName=self.table_name,
                Key=self._key(key_id, _INFLIGHT),
                ConditionExpression="touched = :t",
                ExpressionAttributeValues={":t": {"N": touched}},
            )


def _count(item: dict[str, Any], name: str) -> int:
    value = item.get(name)
    return int(value["N"]) if isinstance(value, dict) and "N" in value else 0
