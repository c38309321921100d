"""The Responses API's stored state, per caller key: what a request continues (``previous_response_id``,
``item_reference``) is read here before translation, and what it answered is kept after.

A key only ever sees its own responses: every read is addressed by (key id, response id), and another
key's response is the same 404 as an unknown one, so nothing of it can reach the upstream."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ..settings import Settings
from ..stores.base import KeyRecord, ResponseStore, StoredResponse
from ..translate.responses.responses_items import find_item, is_response_id, reference_of, response_of, unkept_by
from .errors import ApiError

log = logging.getLogger("ob1_gateway.responses")

_NO_STORE = "responses are not stored by this deployment (no response store is configured)"


def not_found(response_id: str, param: str | None = None) -> ApiError:
    return ApiError(404, f"Response with id '{response_id}' not found.", param=param, code="not_found")


@dataclass
class Continuation:
    """What a request continues: the earlier conversation, and its input with references resolved."""

    history: list[dict[str, Any]] = field(default_factory=list)
    input: Any = None
    omitted: list[str] = field(default_factory=list)  # ids of items left out (see ``_resolve``)


class ResponseState:
    def __init__(self, store: ResponseStore | None, settings: Settings) -> None:
        self.store = store
        self.ttl_seconds = settings.responses_ttl_days * 86_400
        self.max_bytes = settings.responses_max_conversation_bytes

    @property
    def available(self) -> bool:
        return self.store is not None

    async def load(self, key: KeyRecord, response_id: str, param: str | None = None) -> StoredResponse:
        """The key's stored response, or a 404 (unknown, expired, another key's: one answer for all)."""
        if self.store is None:
            raise ApiError(404, f"Response with id '{response_id}' not found: {_NO_STORE}.", param=param)
        found = None
        if is_response_id(response_id):  # any other id was not made here (and must not reach an S3 key)
            found = await asyncio.to_thread(self.store.get, key.key_id, response_id)
        if found is None:
            raise not_found(response_id, param)
        return found

    async def delete(self, key: KeyRecord, response_id: str) -> None:
        store = self.store
        if store is None or not is_response_id(response_id):
            raise not_found(response_id)
        if not await asyncio.to_thread(store.delete, key.key_id, response_id):
            raise not_found(response_id)

    async def continuation(self, key: KeyRecord, body: dict[str, Any]) -> Continuation:
        """The conversation ``body`` continues and its input with every reference replaced by the item it
        names (one read per response involved). Unknown ids are 404s naming them."""
        loaded: dict[str, StoredResponse] = {}
        out = Continuation(input=body.get("input"))
        previous = body.get("previous_response_id")
        if previous not in (None, ""):
            if not isinstance(previous, str):
                raise ApiError(400, "previous_response_id: must be a string", param="previous_response_id")
            stored = loaded[previous] = await self.load(key, previous, "previous_response_id")
            if stored.size > self.max_bytes:
                raise ApiError(
                    400,
                    f"previous_response_id: the conversation of {previous} is {stored.size} bytes, over this "
                    f"gateway's limit of {self.max_bytes} (OB1GW_RESPONSES_MAX_CONVERSATION_BYTES); start a new "
                    "conversation or send its items yourself",
                    param="previous_response_id",
                    code="conversation_too_large",
                )
            out.history = stored.input_items + stored.response.get("output", [])
        if isinstance(out.input, list) and any(reference_of(item) is not None for item in out.input):
            known = {item.get("id") for item in out.history}
            resolved = [await self._resolve(key, item, i, loaded) for i, item in enumerate(out.input)]
            out.omitted = [raw["id"] for item, raw in zip(resolved, out.input, strict=True) if item is None]
            # a reference to an item the previous response's conversation already holds adds nothing
            out.input = [
                item
                for item, raw in zip(resolved, out.input, strict=True)
                if item is raw or (item is not None and item.get("id") not in known)
            ]
        return out

    async def _resolve(self, key: KeyRecord, item: Any, index: int, loaded: dict[str, StoredResponse]) -> Any:
        """The item ``item`` stands for; None for an item sent back by id from a response of this key that
        was not kept (``store: false``), which carries nothing the upstream could use (llm sends its reasoning
        items back so, without ``encrypted_content``): it is left out, and named in a header. An
        ``item_reference`` to such a response, or an id never issued to this key, is a 404."""
        item_id = reference_of(item)
        if item_id is None:
            return item
        param = f"input[{index}].id"
        owner = response_of(item_id)
        if owner is None:
            raise ApiError(404, f"Item with id '{item_id}' not found.", param=param, code="not_found")
        if item.get("type") != "item_reference" and unkept_by(item_id, key.key_id):
            return None
        if owner not in loaded:
            try:
                loaded[owner] = await self.load(key, owner)
            except ApiError:
                raise ApiError(404, f"Item with id '{item_id}' not found.", param=param, code="not_found") from None
        stored = loaded[owner]
        found = find_item(stored.response.get("output", []), item_id) or find_item(stored.input_items, item_id)
        if found is None:
            raise ApiError(404, f"Item with id '{item_id}' not found.", param=param, code="not_found")
        return found

    async def keep(self, key: KeyRecord, response: dict[str, Any], input_items: list[dict[str, Any]]) -> bool:
        """Store the answered ``response``; False (logged) when the store failed, so the answer can say
        ``store: false`` instead of claiming what was not done."""
        if self.store is None:
            return False
        now = time.time()
        stored = StoredResponse(
            key_id=key.key_id,
            response_id=response["id"],
            created_at=now,
            expires_at=now + self.ttl_seconds,
            response=response,
            input_items=input_items,
        )
        try:
            await asyncio.to_thread(self.store.put, stored)
        except Exception as exc:
            log.error("could not store response %s: %s", response["id"], type(exc).__name__)
            return False
        return True
