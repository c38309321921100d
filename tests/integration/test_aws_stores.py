"""The AWS adapters against moto's real server: round trips and parity with the local semantics."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from ob1_gateway.settings import Settings
from ob1_gateway.stores.aws.aws_backends import DuplicateKeyError, SecretsManagerTokenStore, build_aws_backends
from ob1_gateway.stores.backends import build_backends
from ob1_gateway.stores.base import Backends, KeyRecord, OB1Token, UsageRecord

from tests.fixtures.moto_server import aws


@pytest.fixture
def backends(aws_settings: Settings) -> Backends:
    return build_backends(aws_settings)


def _usage(request_id: str, **kw: object) -> UsageRecord:
    base: dict[str, object] = dict(
        key_id="k1",
        model="anthropic/claude-sonnet-4.6",
        route="/v1/messages",
        stream=True,
        status=200,
        input_tokens=10,
        output_tokens=5,
        cache_read_tokens=2,
        cache_write_tokens=1,
        cost_micros=1234,
        latency_ms=12.5,
        ts=datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp(),
    )
    base.update(kw)
    return UsageRecord(request_id=request_id, **base)  # type: ignore[arg-type]


def test_build_requires_secret_and_table(moto_endpoint: str) -> None:
    from ob1_gateway.settings import SettingsError

    with pytest.raises(SettingsError, match="OB1GW_SECRET_ID and OB1GW_TABLE_NAME"):
        build_aws_backends(Settings(backend="aws", aws_endpoint_url=moto_endpoint))


def test_token_placeholder_then_round_trip(backends: Backends) -> None:
    store = backends.token_store
    assert store.load() is None  # the template's placeholder means "not logged in"
    token = OB1Token("acc", "ref", time.time() + 3600, "org_1", "user_1", "a@b.c")
    store.save(token)
    assert store.load() == token
    rotated = OB1Token("acc2", "ref2", time.time() + 7200, "org_1")
    store.save(rotated)
    assert store.load() == rotated  # save() drops the 30 s cache


def test_token_save_is_idempotent(aws_settings: Settings, backends: Backends) -> None:
    token = OB1Token("acc", "ref", 1e10, "org")
    backends.token_store.save(token)
    backends.token_store.save(token)  # a retried save: same content, same version id, no error
    client = aws("secretsmanager", aws_settings.aws_endpoint_url or "")
    versions = client.list_secret_version_ids(SecretId=aws_settings.secret_id)["Versions"]
    assert len(versions) == 2  # the placeholder + one version of the token


def test_token_save_without_refresh_rotation(backends: Backends) -> None:
    """An upstream that keeps the refresh token must still get a new version per new access token."""
    backends.token_store.save(OB1Token("acc1", "same-ref", 1e10))
    backends.token_store.save(OB1Token("acc2", "same-ref", 2e10))
    assert backends.token_store.load() == OB1Token("acc2", "same-ref", 2e10)


def test_token_cache_and_fresh_reads(aws_settings: Settings) -> None:
    a = build_aws_backends(aws_settings).token_store
    b = build_aws_backends(aws_settings).token_store
    assert isinstance(a, SecretsManagerTokenStore)
    b.save(OB1Token("v1", "r1", 1e10))
    assert a.load() == OB1Token("v1", "r1", 1e10)
    b.save(OB1Token("v2", "r2", 1e10))
    assert a.load() == OB1Token("v1", "r1", 1e10)  # cached for 30 s
    assert a.load(fresh=True) == OB1Token("v2", "r2", 1e10)
    b.save(OB1Token("v3", "r3", 1e10))
    with a.lease():
        assert a.load() == OB1Token("v3", "r3", 1e10)  # under the lease every read is fresh


def test_lease_is_exclusive_and_expires(aws_settings: Settings) -> None:
    a = build_aws_backends(aws_settings).token_store
    b = build_aws_backends(aws_settings).token_store
    assert isinstance(a, SecretsManagerTokenStore) and isinstance(b, SecretsManagerTokenStore)
    a.lease_seconds = 1.0
    b.lease_wait_seconds = 0.3
    from ob1_gateway.stores.aws.aws_backends import LeaseTimeout

    with a.lease():
        with pytest.raises(LeaseTimeout), b.lease():
            pass
        time.sleep(1.1)  # a's lease has expired: a crashed holder cannot block refreshes forever
        b.lease_wait_seconds = 5
        with b.lease():
            pass
    # a's release found b's (already released) lease gone or not its own: no error either way
    with b.lease():
        pass


def test_keys_round_trip(backends: Backends) -> None:
    keys = backends.key_store
    rec = KeyRecord("aaaaaaaaaaaa", "alice", "h" * 64, 100.0, budget_usd=5.5)
    rec2 = KeyRecord("bbbbbbbbbbbb", "bob", "g" * 64, 50.0)
    keys.put(rec)
    keys.put(rec2)
    with pytest.raises(DuplicateKeyError):
        keys.put(rec)
    assert keys.get("aaaaaaaaaaaa") == rec
    assert keys.get("missing") is None
    assert [r.key_id for r in keys.list()] == ["bbbbbbbbbbbb", "aaaaaaaaaaaa"]  # by created_at
    assert keys.set_disabled("aaaaaaaaaaaa", True)
    assert keys.get("aaaaaaaaaaaa").disabled  # type: ignore[union-attr]
    assert keys.set_budget("aaaaaaaaaaaa", None)
    assert keys.get("aaaaaaaaaaaa").budget_usd is None  # type: ignore[union-attr]
    assert keys.set_budget("aaaaaaaaaaaa", 0.1)
    assert keys.get("aaaaaaaaaaaa").budget_usd == 0.1  # type: ignore[union-attr]
    assert not keys.set_disabled("missing", True)
    assert not keys.set_budget("missing", 1.0)
    assert keys.get("missing") is None  # the conditional update did not create an item


def test_usage_exactly_once_and_totals(backends: Backends) -> None:
    usage = backends.usage_store
    first = _usage("req-1")
    assert usage.record(first)
    replay = _usage("req-1", ts=first.ts + 5, input_tokens=999)  # a replay stamped later
    assert not usage.record(replay)
    assert usage.record(_usage("req-2", model="openai/gpt-5", cost_micros=1))
    assert usage.record(_usage("req-3", key_id="k2", ts=first.ts + 86_400))
    assert [r.request_id for r in usage.records()] == ["req-1", "req-2", "req-3"]
    assert next(iter(usage.records())) == first

    totals = {(t.key_id, t.model): t for t in usage.totals()}
    assert totals[("k1", "anthropic/claude-sonnet-4.6")].requests == 1
    assert totals[("k1", "anthropic/claude-sonnet-4.6")].input_tokens == 10
    assert totals[("k1", "openai/gpt-5")].cost_micros == 1
    assert totals[("k2", "anthropic/claude-sonnet-4.6")].requests == 1

    by_day = usage.totals(group_by=("day",))
    assert [(t.day, t.requests) for t in by_day] == [("2026-03-01", 2), ("2026-03-02", 1)]
    only_k1 = usage.totals(key_id="k1", group_by=())
    assert len(only_k1) == 1 and only_k1[0].requests == 2 and only_k1[0].cost_micros == 1235

    day1 = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
    assert [t.requests for t in usage.totals(since=day1, until=day1 + 86_400, group_by=())] == [2]
    assert [t.requests for t in usage.totals(since=day1 + 86_400, group_by=())] == [1]
    # A window cut mid-day is summed from the request items, exactly.
    noon = datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()
    assert usage.totals(since=noon + 1, until=day1 + 86_400, group_by=()) == []
    sub = usage.totals(since=noon, until=noon + 1, key_id="k1", group_by=("model",))
    assert [(t.model, t.requests) for t in sub] == [("anthropic/claude-sonnet-4.6", 1), ("openai/gpt-5", 1)]
    with pytest.raises(ValueError):
        usage.totals(group_by=("route",))


def test_usage_matches_local_store(backends: Backends, tmp_path: object) -> None:
    """Same records into SQLite and DynamoDB give the same totals for every grouping."""
    from ob1_gateway.stores.local.local_stores import SqliteDatabase, SqliteUsageStore

    local = SqliteUsageStore(SqliteDatabase(tmp_path / "db.sqlite3"))  # type: ignore[operator]
    base = datetime(2026, 1, 30, 22, tzinfo=UTC).timestamp()
    for i in range(40):
        rec = _usage(
            f"r{i}",
            key_id=f"k{i % 3}",
            model=f"m{i % 4}",
            ts=base + i * 3_600,
            input_tokens=i,
            cost_micros=i * 7,
            estimated=i % 5 == 0,  # a stream the client left
            session_id=f"session-{i % 4}" if i % 7 else "",  # some requests name no session
            web_searches=i % 3,  # the gateway's web tools (issue 30)
            web_fetches=int(i % 6 == 0),
        )
        assert local.record(rec) == backends.usage_store.record(rec)
    assert list(backends.usage_store.records()) == list(local.records())
    day = datetime(2026, 1, 31, tzinfo=UTC).timestamp()
    groupings = [("key_id", "model"), ("day",), ("key_id", "model", "day"), ()]
    groupings += [("session_id",), ("key_id", "session_id")]
    for group_by in groupings:
        for window in [{}, {"since": day}, {"since": day, "until": day + 86_400}, {"since": base + 7_200}]:
            for key in [None, "k1"]:
                kwargs = dict(group_by=group_by, key_id=key, **window)
                assert backends.usage_store.totals(**kwargs) == local.totals(**kwargs), kwargs
    assert sum(t.web_searches for t in local.totals(group_by=())) == sum(i % 3 for i in range(40))


def _members(shape: object) -> list[tuple[str, str, str]] | None:
    """A structure's members in order, by name, shape name and type (shapes compare by identity)."""
    if shape is None:
        return None
    return [(name, member.name, member.type_name) for name, member in shape.members.items()]  # type: ignore[attr-defined]


@pytest.mark.parametrize("service", ["dynamodb", "secretsmanager", "s3"])
def test_clients_load_the_models_botocore_would(service: str) -> None:
    """``aws_client``'s loader (plain-dict parsing, no scan of botocore's data folders) gives each client the
    same operations, request and response shapes and endpoint as botocore's stock loader."""
    import botocore.session
    from ob1_gateway.stores.aws.aws_backends import aws_client

    ours = aws_client(service, region_name="us-east-1").meta
    stock = botocore.session.Session().create_client(service, region_name="us-east-1").meta
    assert ours.service_model.operation_names == stock.service_model.operation_names
    for name in ours.service_model.operation_names:
        mine, theirs = ours.service_model.operation_model(name), stock.service_model.operation_model(name)
        assert _members(mine.input_shape) == _members(theirs.input_shape)
        assert _members(mine.output_shape) == _members(theirs.output_shape)
    assert ours.endpoint_url == stock.endpoint_url


def test_an_unknown_service_is_botocores_own_error() -> None:
    from botocore.exceptions import UnknownServiceError
    from ob1_gateway.stores.aws.aws_backends import aws_client

    with pytest.raises(UnknownServiceError, match="dynamodbx"):
        aws_client("dynamodbx", region_name="us-east-1")
