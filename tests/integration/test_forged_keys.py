"""Forged keys are refused cheaply (issue 25): the gateway on the AWS backend (moto's server), counting
the key-store reads (DynamoDB ``GetItem`` on ``KEY#<id>/META``) that forged requests cause.

A key that could not have been issued costs no read at all; a well-formed one repeated costs one read
per ``key_miss_cache_ttl_seconds``; only a stream of distinct well-formed ids costs a read each (what
API Gateway's throttling bounds). Every refusal is a 401 in the calling API's own error shape."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from ob1_gateway.access.keys import issue_key
from ob1_gateway.app import create_app
from ob1_gateway.stores.aws.aws_backends import DynamoKeyStore, aws_client, build_aws_backends

from tests.fakes.ob1_fake import FakeOB1Server
from tests.fixtures.gateway import GatewayHandle, UvicornThread, gateway_settings, seed_login_and_key
from tests.integration.test_keys_revocation_and_timing import anthropic as anthropic_call
from tests.integration.test_keys_revocation_and_timing import openai as openai_call

MISS_TTL = 1.0
N = 40


@dataclasses.dataclass
class CountedGateway:
    gw: GatewayHandle
    key_reads: list[str]  # the key id of every key-store read, in order

    def reads_during(self, send: Any) -> int:
        before = len(self.key_reads)
        send()
        return len(self.key_reads) - before

    def reads_per_ttl(self, send: Any) -> tuple[int, int]:
        """(key reads while ``send`` ran, the most the miss cache allows in that time: one per TTL)."""
        started = time.monotonic()
        reads = self.reads_during(send)
        return reads, 1 + int((time.monotonic() - started) / MISS_TTL)


@contextmanager
def counted_gateway(
    home: Path, fake: FakeOB1Server, aws_env: dict[str, str], **overrides: Any
) -> Iterator[CountedGateway]:
    """The gateway on moto, its key store on a DynamoDB client that notes each key read it sends."""
    settings = gateway_settings(
        home,
        fake,
        backend="aws",
        aws_endpoint_url=aws_env["OB1GW_AWS_ENDPOINT_URL"],
        secret_id=aws_env["OB1GW_SECRET_ID"],
        table_name=aws_env["OB1GW_TABLE_NAME"],
        **overrides,
    )
    reads: list[str] = []

    def note(params: dict[str, Any], **_: Any) -> None:
        if params["Key"]["SK"] == {"S": "META"}:
            reads.append(params["Key"]["PK"]["S"].removeprefix("KEY#"))

    dynamodb = aws_client("dynamodb", settings)
    dynamodb.meta.events.register("provide-client-params.dynamodb.GetItem", note)
    assert settings.table_name
    backends = dataclasses.replace(
        build_aws_backends(settings), key_store=DynamoKeyStore(dynamodb, settings.table_name)
    )
    record, key = seed_login_and_key(backends, fake, "team")
    with UvicornThread(create_app(settings, backends)) as server:
        gw = GatewayHandle(f"http://127.0.0.1:{server.port}", key, record.key_id, settings, backends)
        yield CountedGateway(gw, reads)


@pytest.fixture
def counted(tmp_path: Path, fake_ob1: FakeOB1Server, aws_env: dict[str, str]) -> Iterator[CountedGateway]:
    with counted_gateway(tmp_path / "home", fake_ob1, aws_env, key_miss_cache_ttl_seconds=MISS_TTL) as handle:
        yield handle


def assert_refused(response: httpx.Response, anthropic_shape: bool) -> None:
    assert response.status_code == 401, response.text
    if anthropic_shape:
        assert response.json() == {
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid API key"},
        }
    else:
        assert response.json() == {
            "error": {
                "message": "invalid API key",
                "type": "authentication_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }


def forge_all(gw: GatewayHandle, keys: list[str]) -> None:
    for key in keys:
        assert_refused(anthropic_call(gw, key), anthropic_shape=True)
        assert_refused(openai_call(gw, key), anthropic_shape=False)


def test_keys_that_could_not_have_been_issued_cost_no_store_read(counted: CountedGateway) -> None:
    gw = counted.gw
    key_id, secret = gw.key.removeprefix("ob1gw_").split("_", 1)
    malformed = [
        "sk-ant-api03-" + secret,  # another vendor's key
        "ob1gw-" + key_id + "_" + secret,  # wrong prefix
        gw.key + "x",  # too long
        gw.key[:-1],  # too short
        f"ob1gw_ABCDEF012345_{secret}",  # upper-case hex: never issued
        f"ob1gw_{'g' * 12}_{secret}",  # not hex
        f"ob1gw_{key_id}_{secret[:-1]}_",  # "_" never appears in a secret
        f"ob1gw_{key_id}_{secret[:-1]}!",
        f"ob1gw_{key_id[:-1]}_{secret}x",  # right length overall, id one short
        "ob1gw_" + "a" * 200,
    ]
    assert counted.reads_during(lambda: forge_all(gw, malformed * (N // len(malformed)))) == 0
    # The real key still works (and is read once), and so does the SDKs' view of a forged one.
    assert anthropic_call(gw, gw.key).status_code == 200
    with pytest.raises(anthropic.AuthenticationError) as refused_a:
        anthropic.Anthropic(base_url=gw.base_url, api_key=malformed[4], max_retries=0).messages.create(
            model="claude-sonnet-4-5", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    assert refused_a.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid API key"},
    }
    with pytest.raises(openai.AuthenticationError) as refused_o:
        openai.OpenAI(base_url=gw.base_url + "/v1", api_key=malformed[5], max_retries=0).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
        )
    assert refused_o.value.code == "invalid_api_key"
    assert counted.key_reads == [gw.key_id]


def test_a_repeated_forged_key_costs_one_read_per_miss_ttl(counted: CountedGateway) -> None:
    gw = counted.gw
    secret = gw.key.rsplit("_", 1)[1]
    unknown = f"ob1gw_{'0' * 12}_{secret}"  # well formed, no such id
    reads, allowed = counted.reads_per_ttl(lambda: forge_all(gw, [unknown] * (N // 2)))
    assert 1 <= reads <= allowed < N
    # A real key id (ids are public: usage, logs) with a made-up secret: one read per TTL, not per request.
    assert anthropic_call(gw, gw.key).status_code == 200
    wrong_secret = f"ob1gw_{gw.key_id}_{'A' * len(secret)}"
    reads, allowed = counted.reads_per_ttl(lambda: forge_all(gw, [wrong_secret] * (N // 2)))
    assert 1 <= reads <= allowed < N
    assert anthropic_call(gw, gw.key).status_code == 200, "the holder of the real secret is not locked out"
    time.sleep(MISS_TTL + 0.1)
    assert counted.reads_during(lambda: forge_all(gw, [unknown] * 5)) == 1, "one read per TTL"


def test_distinct_forged_ids_cost_one_read_each(counted: CountedGateway) -> None:
    """No cache can answer for an id never seen: what bounds this flood is API Gateway's throttling. The
    refusals have a cache of their own, so they do not push the team's keys out."""
    gw = counted.gw
    assert anthropic_call(gw, gw.key).status_code == 200
    forged = [issue_key("forged")[1] for _ in range(N // 2)]
    assert counted.reads_during(lambda: forge_all(gw, forged)) == N // 2  # the second try of each is cached
    assert counted.reads_during(lambda: anthropic_call(gw, gw.key)) == 0, "the team's key is still cached"


def test_a_key_created_after_a_miss_works_within_the_miss_ttl(counted: CountedGateway) -> None:
    gw = counted.gw
    record, key = issue_key("late")
    assert_refused(anthropic_call(gw, key), anthropic_shape=True)
    gw.backends.key_store.put(record)
    created = time.monotonic()
    while (response := openai_call(gw, key)).status_code == 401:
        assert time.monotonic() - created < MISS_TTL + 1.0, "still refused after the miss TTL"
        time.sleep(0.05)
    assert response.status_code == 200, response.text
    assert time.monotonic() - created <= MISS_TTL + 0.5


def test_a_real_key_is_read_afresh_despite_a_cached_refusal(
    tmp_path: Path, fake_ob1: FakeOB1Server, aws_env: dict[str, str]
) -> None:
    """With the known-key cache off (instant revocation), someone sending wrong secrets for a real id must
    not lock its holder out: a key matching the cached answer is read again, every time."""
    with counted_gateway(tmp_path / "home", fake_ob1, aws_env, key_cache_ttl_seconds=0) as counted:
        gw = counted.gw
        wrong_secret = f"ob1gw_{gw.key_id}_{'A' * 32}"
        assert counted.reads_during(lambda: forge_all(gw, [wrong_secret] * 5)) == 1
        assert counted.reads_during(lambda: anthropic_call(gw, gw.key)) == 1
        gw.backends.key_store.set_disabled(gw.key_id, True)
        assert anthropic_call(gw, gw.key).status_code == 403, "revoked at once, as the cache setting says"
