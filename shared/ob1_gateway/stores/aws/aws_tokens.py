"""The OB-1 login in Secrets Manager, with a DynamoDB lease so only one process refreshes at a time.

Refresh tokens are single-use (WorkOS rotates them on every refresh): two Lambdas refreshing with the
same one would burn the login. The lease serialises refreshers; every ``load()`` made while this store
holds a lease skips the cache, so the winner's successor always sees the token the winner saved rather
than a 30 s-old copy.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from ...backoff import backoff_delays
from ..base import OB1Token
from .aws_items import LEASE_PK, LEASE_SK, error_code, serialize

log = logging.getLogger(__name__)

# Namespace for secret version ids: the same token content always maps to the same version id.
_VERSION_NAMESPACE = uuid.UUID("6f0b1c1e-8d2a-5b7e-9c4f-0b1a2e3d4c5b")


class LeaseTimeout(TimeoutError):
    """Nobody released (or let expire) the refresh lease within the wait limit."""


class SecretsManagerTokenStore:
    """TokenStore over one secret (JSON of ``OB1Token``) and a lease item in the gateway table."""

    def __init__(
        self,
        secrets_client: Any,
        dynamodb_client: Any,
        secret_id: str,
        table_name: str,
        *,
        cache_seconds: int = 30,
        lease_seconds: float = 30.0,
        lease_wait_seconds: float = 90.0,
    ) -> None:
        self._secrets = secrets_client
        self._dynamodb = dynamodb_client
        self._provider = SecretsProvider(boto3_client=secrets_client)
        self.secret_id = secret_id
        self.table_name = table_name
        self.cache_seconds = cache_seconds
        self.lease_seconds = lease_seconds
        self.lease_wait_seconds = lease_wait_seconds
        self._held = 0  # leases held by this instance; a count, not a thread-local, see load()
        self._held_lock = threading.Lock()

    # -- token -------------------------------------------------------------------------------------

    def load(self, fresh: bool = False) -> OB1Token | None:
        """The stored login, cached ``cache_seconds``; fresh while a lease is held or when asked.

        A count rather than a thread-local decides "held": async callers enter the lease and load
        from different worker threads (``asyncio.to_thread``).
        """
        force = fresh or self._held > 0
        try:
            data = self._provider.get(self.secret_id, max_age=self.cache_seconds, transform="json", force_fetch=force)
        except GetParameterError as exc:
            if error_code(exc.__cause__ or exc) == "ResourceNotFoundException":
                log.warning("OB-1 secret %s has no value yet: not logged in", self.secret_id)
                return None
            raise
        if not isinstance(data, dict) or not data.get("access_token"):
            return None  # the template's placeholder until an admin logs in
        return OB1Token.from_dict(data)

    def save(self, token: OB1Token) -> None:
        """Write a new secret version whose id is derived from the content, so a retry is a no-op.

        Derived from the whole token, not the refresh token alone: an upstream that does not rotate
        refresh tokens would otherwise map two different versions to one id and fail the second.
        """
        body = json.dumps(token.to_dict(), sort_keys=True, separators=(",", ":"))
        version = str(uuid.uuid5(_VERSION_NAMESPACE, body))
        self._secrets.put_secret_value(SecretId=self.secret_id, SecretString=body, ClientRequestToken=version)
        clear_cache = cast("Callable[[], None]", self._provider.clear_cache)  # powertools leaves it unannotated
        clear_cache()

    # -- lease -------------------------------------------------------------------------------------

    def _try_acquire(self, owner: str) -> bool:
        now = time.time()
        expires = now + self.lease_seconds
        try:
            self._dynamodb.put_item(
                TableName=self.table_name,
                Item=serialize(
                    {
                        "PK": LEASE_PK,
                        "SK": LEASE_SK,
                        "owner": owner,
                        "expires": expires,
                        # TTL only tidies a lease left by a crashed process; correctness uses "expires".
                        "expires_at": int(expires) + 3600,
                    }
                ),
                ConditionExpression="attribute_not_exists(PK) OR #expires < :now",
                ExpressionAttributeNames={"#expires": "expires"},
                ExpressionAttributeValues=serialize({":now": now}),
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _release(self, owner: str) -> None:
        try:
            self._dynamodb.delete_item(
                TableName=self.table_name,
                Key=serialize({"PK": LEASE_PK, "SK": LEASE_SK}),
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues=serialize({":owner": owner}),
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            # Our lease expired and another process took it: not ours to delete. Worth a warning,
            # because it means a refresh outlived ``lease_seconds``.
            log.warning("token lease expired before release; refresh took longer than %ss", self.lease_seconds)

    @contextmanager
    def lease(self) -> Iterator[None]:
        """Hold ``LOCK#ob1-token`` (conditional put, ~30 s expiry); poll with backoff while it is taken."""
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + self.lease_wait_seconds
        delays = backoff_delays(0.05, 1.0, factor=1.6)
        while not self._try_acquire(owner):
            if time.monotonic() >= deadline:
                raise LeaseTimeout(f"token refresh lease still held after {self.lease_wait_seconds}s")
            time.sleep(next(delays))
        with self._held_lock:
            self._held += 1
        try:
            yield
        finally:
            with self._held_lock:
                self._held -= 1
            self._release(owner)
