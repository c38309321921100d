"""The Anthropic surface as anthropic 2.16 sees it, driven by the real SDKs: the Models API's shape and
paging, errors in the caller's shape on shared routes, unsupported endpoints named, server-side features
refused, and the upstream model that served each answer named in ``x-ob1gw-model``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from ob1_gateway.app import create_app
from ob1_gateway.stores.backends import build_backends

from tests.fakes import scripts as S
from tests.fakes.ob1_fake import MODELS
from tests.fixtures.gateway import GatewayHandle, UvicornThread, gateway_settings, seed_login_and_key


def anthropic_style(upstream_id: str) -> str:
    """How Anthropic names a model (``claude-opus-4-6``), which Claude Code's model-family logic keys on."""
    if not upstream_id.startswith("anthropic/"):
        return upstream_id
    return re.sub(r"(?<=\d)\.(?=\d)", "-", upstream_id.removeprefix("anthropic/"))


NEWEST_FIRST = [anthropic_style(m["id"]) for m in sorted(MODELS, key=lambda m: m["created"], reverse=True)]


def client(gw: GatewayHandle, *, strict: bool = True) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=gw.base_url, api_key=gw.key, max_retries=0, timeout=30, _strict_response_validation=strict
    )


def oai(gw: GatewayHandle) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url + "/v1", api_key=gw.key, max_retries=0, timeout=30)


# ---- row 2: models in 2.16's shape, paged -------------------------------------------------------------------
def test_models_list_validates_strictly_and_lists_newest_first(gateway: GatewayHandle) -> None:
    page = client(gateway).models.list(limit=100)
    assert [m.id for m in page.data] == NEWEST_FIRST
    first = page.data[0]
    assert first.type == "model" and first.lifecycle == "active" and first.display_name
    assert first.created_at.year >= 2024 and first.max_input_tokens and first.max_tokens
    assert page.has_more is False and page.first_id == NEWEST_FIRST[0] and page.last_id == NEWEST_FIRST[-1]


def test_models_retrieve_has_the_lifecycle(gateway: GatewayHandle) -> None:
    model = client(gateway).models.retrieve("claude-haiku-4-5")
    assert (model.id, model.lifecycle, model.type) == ("claude-haiku-4-5", "active", "model")
    assert model.upstream_id == "anthropic/claude-haiku-4.5"  # type: ignore[attr-defined]
    assert model.display_name == "Anthropic: Claude Haiku 4.5"


def test_every_listed_anthropic_style_id_is_served_by_its_upstream_model(gateway: GatewayHandle, fake_ob1: Any) -> None:
    listed = client(gateway).models.list(limit=1000).data
    claude_ids = [m for m in listed if m.id.startswith("claude-")]
    assert claude_ids and all("/" not in m.id and "." not in m.id for m in claude_ids)
    for model in claude_ids:
        fake_ob1.enqueue(S.completion("ok", model=model.upstream_id))  # type: ignore[attr-defined]
        answer = client(gateway).messages.with_raw_response.create(
            model=model.id, max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.headers["x-ob1gw-model"] == model.upstream_id  # type: ignore[attr-defined]


def test_the_sdk_pager_walks_every_page_forwards(gateway: GatewayHandle) -> None:
    first = client(gateway).models.list(limit=2)
    assert [m.id for m in first.data] == NEWEST_FIRST[:2] and first.has_more is True
    assert [m.id for m in first] == NEWEST_FIRST  # the SDK follows last_id with after_id until has_more is false
    pages = list(first.iter_pages())
    assert len(pages) == (len(NEWEST_FIRST) + 1) // 2
    assert pages[-1].has_more is False


def test_before_id_pages_backwards(gateway: GatewayHandle) -> None:
    page = client(gateway).models.list(limit=2, before_id=NEWEST_FIRST[5])
    assert [m.id for m in page.data] == NEWEST_FIRST[3:5] and page.has_more is True
    assert [m.id for m in page] == NEWEST_FIRST[3:5] + NEWEST_FIRST[1:3] + NEWEST_FIRST[:1]  # before_id=first_id


def test_both_cursors_bound_the_window(gateway: GatewayHandle) -> None:
    page = client(gateway).models.list(after_id=NEWEST_FIRST[1], before_id=NEWEST_FIRST[4], limit=10)
    assert [m.id for m in page.data] == NEWEST_FIRST[2:4] and page.has_more is False


def test_lifecycle_filter_and_bad_paging_params(gateway: GatewayHandle) -> None:
    assert client(gateway).models.list(lifecycle=["deprecated", "retired"]).data == []
    assert len(client(gateway).models.list(lifecycle=["active"], limit=3).data) == 3
    for kwargs, param in (({"after_id": "no-such-model"}, "after_id"), ({"limit": 0}, "limit")):
        with pytest.raises(anthropic.BadRequestError) as refused:
            client(gateway).models.list(**kwargs)
        assert param in refused.value.message


# ---- row 3: errors in the caller's shape on shared routes ------------------------------------------------
def test_an_unknown_model_is_an_anthropic_404_for_the_anthropic_sdk(gateway: GatewayHandle) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        client(gateway).models.retrieve("no-such-model")
    assert missing.value.body == {
        "type": "error",
        "error": {"type": "not_found_error", "message": missing.value.body["error"]["message"]},
    }
    assert "no-such-model" in missing.value.body["error"]["message"]


@pytest.mark.parametrize(
    ("headers", "anthropic_shape"),
    [
        ({"x-api-key": "KEY"}, True),
        ({"authorization": "Bearer KEY", "anthropic-version": "2023-06-01"}, True),
        ({"authorization": "Bearer KEY"}, False),
    ],
    ids=["x-api-key", "anthropic-version", "openai"],
)
@pytest.mark.parametrize("path", ["/v1/models/no-such-model", "/v1/nowhere"])
def test_shared_routes_answer_in_the_callers_shape(
    gateway: GatewayHandle, headers: dict[str, str], anthropic_shape: bool, path: str
) -> None:
    sent = {name: value.replace("KEY", gateway.key) for name, value in headers.items()}
    response = httpx.get(gateway.base_url + path, headers=sent, timeout=30)
    assert response.status_code == 404
    error = response.json()
    if anthropic_shape:
        assert error["type"] == "error" and error["error"]["type"] == "not_found_error"
    else:
        assert set(error["error"]) == {"message", "type", "param", "code"}


def test_openai_only_routes_keep_the_openai_shape_whatever_the_headers(gateway: GatewayHandle) -> None:
    headers = {"x-api-key": gateway.key, "anthropic-version": "2023-06-01"}
    response = httpx.post(gateway.base_url + "/v1/chat/completions", json={"model": "x"}, headers=headers, timeout=30)
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


# ---- row 4: what the SDK offers and the gateway does not, named ------------------------------------------
BATCH = [{"custom_id": "a", "params": {"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": []}}]
UNSUPPORTED: list[tuple[str, Any, str]] = [
    ("messages.batches.create", lambda c: c.messages.batches.create(requests=BATCH), "Message Batches"),
    ("messages.batches.list", lambda c: c.messages.batches.list(), "Message Batches"),
    ("beta.messages.batches.retrieve", lambda c: c.beta.messages.batches.retrieve("msgbatch_1"), "Message Batches"),
    ("beta.files.list", lambda c: c.beta.files.list(), "Files API"),
    ("skills.list", lambda c: c.skills.list(), "Skills"),
    ("beta.skills.list", lambda c: c.beta.skills.list(), "Skills"),
]


@pytest.mark.parametrize(("call", "feature"), [u[1:] for u in UNSUPPORTED], ids=[u[0] for u in UNSUPPORTED])
def test_unsupported_anthropic_endpoints_say_so(gateway: GatewayHandle, call: Any, feature: str) -> None:
    with pytest.raises(anthropic.NotFoundError) as refused:
        call(client(gateway))
    message = refused.value.body["error"]["message"]
    assert refused.value.body["type"] == "error"
    assert feature in message and "not available through this gateway" in message


def test_stored_chat_completions_are_named_for_the_openai_sdk(gateway: GatewayHandle) -> None:
    with pytest.raises(openai.NotFoundError) as refused:
        oai(gateway).chat.completions.list()
    assert "stored chat completions" in refused.value.message


# ---- row 5 over HTTP: a server-side feature is refused by name --------------------------------------------
def test_a_container_with_skills_is_refused_by_name(gateway: GatewayHandle, fake_ob1: Any) -> None:
    with pytest.raises(anthropic.BadRequestError) as refused:
        client(gateway).messages.create(
            model="claude-sonnet-4-5",
            max_tokens=16,
            messages=[{"role": "user", "content": "hi"}],
            container={"skills": [{"type": "anthropic", "skill_id": "pptx"}]},
        )
    assert "container.skills" in refused.value.message
    assert fake_ob1.chat_requests == []


# ---- row 6: the model that served it --------------------------------------------------------------------
def test_a_family_fallback_is_named_in_the_header(gateway: GatewayHandle) -> None:
    raw = client(gateway).messages.with_raw_response.create(
        model="claude-opus-4-7", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["x-ob1gw-model"] == "anthropic/claude-opus-4.1"
    assert raw.parse().model == "claude-opus-4-7"
    [record] = gateway.usage_records(1)
    assert record.model == "anthropic/claude-opus-4.1"


def test_every_chat_route_names_the_model_streamed_or_not(gateway: GatewayHandle) -> None:
    with client(gateway).messages.with_streaming_response.create(
        model="claude-sonnet-4-5", max_tokens=16, messages=[{"role": "user", "content": "hi"}], stream=True
    ) as streamed:
        assert streamed.headers["x-ob1gw-model"] == "anthropic/claude-sonnet-4.5"
    chat = oai(gateway).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert chat.headers["x-ob1gw-model"] == "openai/gpt-4o-mini"
    with oai(gateway).chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as chat_stream:
        assert chat_stream.headers["x-ob1gw-model"] == "openai/gpt-4o-mini"
    responses = oai(gateway).responses.with_raw_response.create(model="gpt-4o-mini", input="hi")
    assert responses.headers["x-ob1gw-model"] == "openai/gpt-4o-mini"


@pytest.fixture
def no_fallback(tmp_path: Path, fake_ob1: Any) -> Iterator[GatewayHandle]:
    settings = gateway_settings(tmp_path / "home", fake_ob1, model_family_fallback=False)
    backends = build_backends(settings)
    record, key = seed_login_and_key(backends, fake_ob1, "tester")
    with UvicornThread(create_app(settings, backends)) as server:
        yield GatewayHandle(f"http://127.0.0.1:{server.port}", key, record.key_id, settings, backends)


def test_without_the_family_fallback_an_unknown_version_is_a_404_naming_the_nearest(
    no_fallback: GatewayHandle, fake_ob1: Any
) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        client(no_fallback).messages.create(
            model="claude-opus-4-7-20260101", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
    message = missing.value.body["error"]["message"]
    assert "claude-opus-4-7-20260101" in message
    assert message.split("Available: ", 1)[1].startswith("anthropic/claude-opus-4.1")  # its family first
    assert fake_ob1.chat_requests == []
    assert (
        client(no_fallback)
        .messages.create(model="claude-opus-4-1-20250805", max_tokens=16, messages=[{"role": "user", "content": "hi"}])
        .content
    )
