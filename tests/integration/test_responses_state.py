"""The Responses API's stored state through the official openai SDK, on both backends (SQLite; S3 in moto's
server): ``store``, ``previous_response_id`` chains, ``item_reference``, retrieve / delete / input_items,
``input_tokens``, and isolation between keys."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fakes import faults as F
from tests.fixtures.gateway import GatewayHandle

GPT, REASONER = "gpt-4o-mini", "gpt-5"


@pytest.fixture(params=["local", "aws"])
def gw(request: pytest.FixtureRequest, tmp_path: Path, fake_ob1: Any) -> Iterator[GatewayHandle]:
    if request.param == "aws":
        request.getfixturevalue("aws_env")  # a fresh table, secret and bucket in moto per test
    with F.start_gateway(tmp_path / "home", fake_ob1, max_retries=0) as handle:
        assert handle.settings.backend == request.param
        yield handle


def sdk(gw: GatewayHandle, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url + "/v1", api_key=key or gw.key, max_retries=0, timeout=30)


def upstream_messages(fake: Any) -> list[dict[str, Any]]:
    return fake.chat_requests[-1]["body"]["messages"]


@pytest.mark.parametrize("stream", [False, True])
def test_previous_response_id_chains_three_deep(gw: GatewayHandle, fake_ob1: Any, stream: bool) -> None:
    client = sdk(gw)

    def create(**kwargs: Any) -> Any:
        if not stream:
            return client.responses.create(model=GPT, **kwargs)
        with client.responses.stream(model=GPT, **kwargs) as events:
            return events.get_final_response()

    first = create(input="one", instructions="first rules")
    second = create(input="two", previous_response_id=first.id)
    third = create(input=[{"role": "user", "content": "three"}], previous_response_id=second.id, instructions="now")
    assert upstream_messages(fake_ob1) == [
        {"role": "system", "content": "now"},  # instructions are not carried over
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "Echo: one"},
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": "Echo: two"},
        {"role": "user", "content": "three"},
    ]
    assert third.output_text == "Echo: three" and third.previous_response_id == second.id
    assert (first.store, second.store, third.store) == (True, True, True) and first.previous_response_id is None
    stored = client.responses.retrieve(third.id)
    assert stored.id == third.id and stored.output_text == "Echo: three" and stored.previous_response_id == second.id


def test_retrieve_input_items_delete(gw: GatewayHandle) -> None:
    client = sdk(gw)
    first = client.responses.create(model=GPT, input="one")
    second = client.responses.create(model=GPT, input="two", previous_response_id=first.id)
    assert client.responses.retrieve(first.id).output_text == "Echo: one"

    newest_first = client.responses.input_items.list(second.id)
    texts = [item.content[0].text for item in newest_first.data]
    assert texts == ["two", "Echo: one", "one"] and not newest_first.has_more
    paged = list(client.responses.input_items.list(second.id, order="asc", limit=1))  # the SDK pages on after=
    assert [item.content[0].text for item in paged] == ["one", "Echo: one", "two"]
    assert len({item.id for item in paged}) == 3

    deleted = client.responses.delete(first.id)
    assert deleted is None or getattr(deleted, "deleted", True)
    for call in (lambda: client.responses.retrieve(first.id), lambda: client.responses.delete(first.id)):
        with pytest.raises(openai.NotFoundError) as caught:
            call()
        assert first.id in caught.value.message
    assert client.responses.retrieve(second.id).output_text == "Echo: two"  # a later turn keeps its own copy


def test_store_false_keeps_nothing(gw: GatewayHandle) -> None:
    client = sdk(gw)
    reply = client.responses.create(model=GPT, input="private", store=False)
    assert reply.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(reply.id)
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model=GPT, input="more", previous_response_id=reply.id)
    assert caught.value.body["param"] == "previous_response_id"


def test_unknown_previous_response_is_404_naming_it(gw: GatewayHandle, fake_ob1: Any) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        sdk(gw).responses.create(model=GPT, input="x", previous_response_id="resp_" + "0" * 32)
    assert caught.value.body["param"] == "previous_response_id" and "resp_" + "0" * 32 in caught.value.message
    assert fake_ob1.chat_requests == []


def test_item_references_resolve_to_the_stored_items(gw: GatewayHandle, fake_ob1: Any) -> None:
    """What the Vercel AI SDK sends on its second turn: earlier reasoning and message items by reference.
    The reasoning goes back upstream whole (the fake refuses encrypted reasoning it did not issue)."""
    client = sdk(gw)
    first = client.responses.create(model=REASONER, input="think")
    reasoning, message = first.output
    assert reasoning.type == "reasoning" and reasoning.encrypted_content is None  # not asked for
    again = client.responses.create(
        model=REASONER,
        input=[
            {"role": "user", "content": "think"},
            {"type": "item_reference", "id": reasoning.id},
            {"type": "item_reference", "id": message.id},
            {"role": "user", "content": "again"},
        ],
    )
    assert again.output_text == "Echo: again"
    assistant = upstream_messages(fake_ob1)[1]
    assert assistant["content"] == "Echo: think"
    assert assistant["reasoning_details"][0]["data"].startswith("fake-encrypted:")
    # a reasoning item given by its id alone resolves the same way
    answer = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Echo: think"}]}
    by_id = [{"role": "user", "content": "think"}, {"type": "reasoning", "id": reasoning.id, "summary": []}, answer]
    client.responses.create(model=REASONER, input=[*by_id, {"role": "user", "content": "x"}])
    assert upstream_messages(fake_ob1)[1]["reasoning_details"][0]["data"].startswith("fake-encrypted:")
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model=REASONER, input=[{"type": "item_reference", "id": "rs_unknown"}])
    assert caught.value.body["param"] == "input[0].id" and "rs_unknown" in caught.value.message


def test_another_keys_responses_are_unknown(gw: GatewayHandle, fake_ob1: Any) -> None:
    owner = sdk(gw)
    first = owner.responses.create(model=REASONER, input="secret plans")
    _, other_key = gw.new_key("mallory")
    other = sdk(gw, other_key)
    sent = len(fake_ob1.chat_requests)
    attempts = [
        lambda: other.responses.retrieve(first.id),
        lambda: other.responses.delete(first.id),
        lambda: other.responses.input_items.list(first.id),
        lambda: other.responses.create(model=GPT, input="x", previous_response_id=first.id),
        lambda: other.responses.create(model=GPT, input=[{"type": "item_reference", "id": first.output[1].id}]),
        lambda: other.responses.input_tokens.count(model=GPT, input="x", previous_response_id=first.id),
    ]
    unknown = "resp_" + secrets.token_hex(16)
    for attempt in attempts:
        with pytest.raises(openai.NotFoundError) as caught:
            attempt()
        assert "secret plans" not in json.dumps(caught.value.body)
        assert caught.value.body["message"].replace(first.id, unknown).replace(first.output[1].id, "x")
    with pytest.raises(openai.NotFoundError) as same:
        other.responses.retrieve(unknown)
    with pytest.raises(openai.NotFoundError) as foreign:
        other.responses.retrieve(first.id)
    assert foreign.value.body["message"].replace(first.id, unknown) == same.value.body["message"]
    assert len(fake_ob1.chat_requests) == sent  # nothing of the owner's conversation went upstream
    assert owner.responses.retrieve(first.id).output_text == "Echo: secret plans"


def test_continuing_is_billed_to_the_continuing_key(gw: GatewayHandle) -> None:
    client = sdk(gw)
    first = client.responses.create(model=GPT, input="a long first question " * 50)
    second = client.responses.create(model=GPT, input="short", previous_response_id=first.id)
    records = {r.request_id: r for r in gw.usage_records(2)}
    assert {r.key_id for r in records.values()} == {gw.key_id}
    assert second.usage.input_tokens > first.usage.input_tokens  # the history went upstream, and was billed
    assert sorted(r.input_tokens for r in records.values()) == sorted(
        [first.usage.input_tokens, second.usage.input_tokens]
    )


def test_input_tokens_counts_the_resolved_conversation(gw: GatewayHandle) -> None:
    client = sdk(gw)
    first = client.responses.create(model=GPT, input="word " * 400)
    alone = client.responses.input_tokens.count(model=GPT, input="next")
    continued = client.responses.input_tokens.count(model=GPT, input="next", previous_response_id=first.id)
    assert alone.input_tokens > 0 and continued.input_tokens > alone.input_tokens + 400
    assert client.responses.input_tokens.count().input_tokens == 0
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.input_tokens.count(model=GPT, input=[{"role": "robot", "content": "x"}])
    assert caught.value.body["param"] == "input[0].role"


def test_encrypted_content_only_when_included(gw: GatewayHandle) -> None:
    client = sdk(gw)
    first = client.responses.create(model=REASONER, input="q")
    assert first.output[0].encrypted_content is None
    assert client.responses.retrieve(first.id).output[0].encrypted_content is None
    included = client.responses.retrieve(first.id, include=["reasoning.encrypted_content"])
    assert included.output[0].encrypted_content.startswith("ob1gw.v1.")


def test_cancel_and_compact_say_what_they_are(gw: GatewayHandle) -> None:
    client = sdk(gw)
    done = client.responses.create(model=GPT, input="x")
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.cancel(done.id)
    assert "background" in caught.value.message
    with pytest.raises(openai.NotFoundError):
        client.responses.cancel("resp_" + "1" * 32)
    response = httpx.post(
        gw.base_url + "/v1/responses/compact",
        headers={"Authorization": f"Bearer {gw.key}"},
        json={"model": GPT, "input": "x"},
        timeout=30,
    )
    assert response.status_code == 404 and "compact" in response.json()["error"]["message"]


def test_large_conversation_round_trips(gw: GatewayHandle) -> None:
    """A conversation near the body limit (2 MB of incompressible text here) is stored and read back whole. (On a
    model whose context holds it: 2 MiB is ~524k tokens by the estimate, clearly past a 128k model's context.)"""
    client = sdk(gw)
    text = secrets.token_hex(1024 * 1024)  # 2 MiB of hex digits
    first = client.responses.create(model="google/gemini-2.5-pro", input=text)
    [item] = client.responses.input_items.list(first.id).data
    assert item.content[0].text == text


def test_a_failed_store_is_not_claimed(gw: GatewayHandle, fake_ob1: Any) -> None:
    if gw.settings.backend != "aws":
        pytest.skip("a store that fails: the bucket is removed from under the gateway")
    from tests.fixtures.moto_server import aws

    bucket = gw.settings.responses_bucket
    s3 = aws("s3", gw.settings.aws_endpoint_url)
    s3.delete_bucket(Bucket=bucket)
    reply = sdk(gw).responses.create(model=GPT, input="x")
    assert reply.output_text == "Echo: x" and reply.store is False
    with sdk(gw).responses.stream(model=GPT, input="y") as events:
        assert events.get_final_response().store is False


@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_continues_without_storage(gw: GatewayHandle, fake_ob1: Any, stream: bool) -> None:
    """What Codex and opencode do (store: false, include encrypted reasoning): the reasoning comes back as
    encrypted_content and, sent back, reaches the upstream as its own signed reasoning_details."""
    client = sdk(gw)
    kwargs: dict[str, Any] = {"model": REASONER, "store": False, "include": ["reasoning.encrypted_content"]}
    if stream:
        with client.responses.stream(input="plan", **kwargs) as events:
            first = events.get_final_response()
    else:
        first = client.responses.create(input="plan", **kwargs)
    reasoning, message = first.output
    assert reasoning.encrypted_content.startswith("ob1gw.v1.") and first.store is False
    items = [{"role": "user", "content": "plan"}, reasoning.model_dump(exclude_none=True), message.model_dump()]
    client.responses.create(input=[*items, {"role": "user", "content": "go on"}], **kwargs)
    assert upstream_messages(fake_ob1)[1]["reasoning_details"][0]["data"].startswith("fake-encrypted:")


def test_a_reference_into_the_previous_conversation_is_not_sent_twice(gw: GatewayHandle, fake_ob1: Any) -> None:
    """The Vercel AI SDK with previousResponseId still sends its message references."""
    client = sdk(gw)
    first = client.responses.create(model=GPT, input="one")
    client.responses.create(
        model=GPT,
        previous_response_id=first.id,
        input=[{"type": "item_reference", "id": first.output[0].id}, {"role": "user", "content": "two"}],
    )
    assert [m["content"] for m in upstream_messages(fake_ob1)] == ["one", "Echo: one", "two"]
