"""Stored Responses on AWS: one gzip'd S3 object per response under ``responses/<key id>/<response id>``.

S3 rather than DynamoDB because a conversation can be megabytes (images, long contexts, up to the body
limit) and a DynamoDB item stops at 400 KB; a response is one PUT, continuing it one GET, and the bucket's
lifecycle rule expires objects after the TTL (reads check ``expires_at`` too, since lifecycle runs about
daily). No index is needed: item ids name their response (``translate.responses_ids``)."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from ..base import StoredResponse

PREFIX = "responses/"
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


def object_key(key_id: str, response_id: str) -> str:
    return f"{PREFIX}{key_id}/{response_id}"


class S3ResponseStore:
    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def put(self, stored: StoredResponse) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=object_key(stored.key_id, stored.response_id),
            Body=stored.to_bytes(),
            ContentType="application/gzip",
            Metadata={"expires-at": f"{stored.expires_at:.0f}"},
        )

    def get(self, key_id: str, response_id: str) -> StoredResponse | None:
        obj = self._call("get_object", key_id, response_id)
        if obj is None:
            return None
        stored = StoredResponse.from_bytes(obj["Body"].read())
        return None if stored.expired() else stored

    def delete(self, key_id: str, response_id: str) -> bool:
        head = self._call("head_object", key_id, response_id)  # S3 deletes an absent object without a word
        if head is None or float(head.get("Metadata", {}).get("expires-at", "inf")) <= time.time():
            return False
        self._call("delete_object", key_id, response_id)
        return True

    def _call(self, operation: str, key_id: str, response_id: str) -> Any:
        """One S3 call on the response's object; None when there is no such object."""
        try:
            return getattr(self.s3, operation)(Bucket=self.bucket, Key=object_key(key_id, response_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
