"""Caller keys: revocation takes effect within ``key_cache_ttl_seconds`` (≤ 60 s), a disabled
key gets 403 in the API's own shape, and a wrong key's timing does not depend on how much of it
matched.

Why the timing cannot leak the secret: a key reads ``ob1gw_<key_id>_<secret>``. The key id is public
(it names the key in usage and logs) and selects the record; the presented secret is then hashed with
SHA-256 and the two 64-character hex digests are compared with ``hmac.compare_digest``, which takes
the same time wherever they differ. A prefix of the secret that matches therefore buys nothing — not
even a matching prefix of the digest, since SHA-256 scrambles it. The tests check that the constant-time
primitive is what decides (on fixed-length digests), and measure that a near-miss and a far-miss take
the same time within a tolerance far wider than noise and far narrower than a byte-by-byte compare of
a long prefix would need to pass.
"""

from __future__ import annotations

import hmac
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ob1_gateway.access import keys
from ob1_gateway.settings import SettingsError, load_settings

from tests.fakes import faults as F
from tests.fixtures.gateway import GatewayHandle

TTL = 1.0


@pytest.fixture
def gw(tmp_path: Path, fake_ob1: Any) -> Iterator[GatewayHandle]:
    with F.start_gateway(tmp_path / "home", fake_ob1, key_cache_ttl_seconds=TTL) as handle:
        yield handle


def anthropic(gw: GatewayHandle, key: str) -> httpx.Response:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]}
    return httpx.post(gw.base_url + "/v1/messages", json=body, headers={"x-api-key": key}, timeout=30)


def openai(gw: GatewayHandle, key: str) -> httpx.Response:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}
    return httpx.post(
        gw.base_url + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}, timeout=30
    )


def test_key_cache_ttl_is_bounded_by_60_seconds(tmp_path: Path) -> None:
    assert load_settings(home=tmp_path).key_cache_ttl_seconds <= 60
    with pytest.raises(SettingsError, match="KEY_CACHE_TTL_SECONDS"):
        load_settings(home=tmp_path, key_cache_ttl_seconds=61)


def test_revocation_takes_effect_within_the_cache_ttl(gw: GatewayHandle) -> None:
    assert anthropic(gw, gw.key).status_code == 200  # the record is now cached
    gw.backends.key_store.set_disabled(gw.key_id, True)
    revoked_at = time.monotonic()
    while (response := anthropic(gw, gw.key)).status_code == 200:
        assert time.monotonic() - revoked_at < TTL + 1.0, "still accepted after the cache TTL"
        time.sleep(0.05)
    elapsed = time.monotonic() - revoked_at
    assert elapsed <= TTL + 0.5
    assert response.status_code == 403
    assert response.json() == {
        "type": "error",
        "error": {"type": "permission_error", "message": f"API key {gw.key_id} has been revoked"},
    }
    response = openai(gw, gw.key)
    assert response.status_code == 403
    assert response.json()["error"] == {
        "message": f"API key {gw.key_id} has been revoked",
        "type": "permission_error",
        "param": None,
        "code": "key_revoked",
    }
    assert gw.key not in response.text
    # re-enabling works the same way
    gw.backends.key_store.set_disabled(gw.key_id, False)
    time.sleep(TTL + 0.1)
    assert anthropic(gw, gw.key).status_code == 200


def test_a_disabled_key_is_refused_even_when_first_seen(gw: GatewayHandle) -> None:
    key_id, key = gw.new_key("never-used")
    gw.backends.key_store.set_disabled(key_id, True)
    assert anthropic(gw, key).status_code == 403
    assert openai(gw, key).status_code == 403


def test_wrong_keys_get_the_same_401_whatever_matched(gw: GatewayHandle) -> None:
    secret = gw.key.rsplit("_", 1)[1]
    near = gw.key[:-1] + ("A" if gw.key[-1] != "A" else "B")  # right id, all but the last character
    far = f"ob1gw_{gw.key_id}_" + "A" * len(secret)  # right id, nothing else
    unknown = "ob1gw_000000000000_" + secret  # unknown id, right secret
    for key in (near, far, unknown, "not-a-gateway-key"):
        for call in (anthropic, openai):
            response = call(gw, key)
            assert response.status_code == 401
            assert "invalid API key" in response.text
            assert key not in response.text


def test_the_secret_is_decided_by_compare_digest_on_fixed_length_digests(monkeypatch: pytest.MonkeyPatch) -> None:
    record, key = keys.issue_key("t")
    calls: list[tuple[str, str]] = []
    original = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(keys.hmac, "compare_digest", spy)
    secret = key.rsplit("_", 1)[1]
    for presented, expected in ((secret, True), (secret[:-1], False), (secret + "x", False), ("", False)):
        assert keys.secret_matches(record, presented) is expected
    assert len(calls) == 4
    assert all(len(a) == len(b) == 64 for a, b in calls), "digests, not raw secrets, are compared"


def test_near_miss_and_far_miss_take_the_same_time() -> None:
    """Interleaved medians of many batches; a byte-by-byte compare of the raw secret would make the
    near miss (31 of 32 characters right) measurably slower than the far miss (first character
    wrong). Both go through SHA-256 and ``compare_digest`` here, so the ratio stays near 1."""
    record, key = keys.issue_key("t")
    secret = key.rsplit("_", 1)[1]
    near = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    far = ("A" if secret[0] != "A" else "B") + secret[1:]
    samples: dict[str, list[float]] = {"near": [], "far": []}
    batch = 200
    for _ in range(150):
        for name, presented in (("near", near), ("far", far)):
            started = time.perf_counter()
            for _ in range(batch):
                keys.secret_matches(record, presented)
            samples[name].append(time.perf_counter() - started)
    ratio = statistics.median(samples["near"]) / statistics.median(samples["far"])
    assert 0.75 < ratio < 1.33, ratio
