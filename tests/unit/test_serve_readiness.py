"""``ob1gw serve``'s start-up check: each problem that would fail requests later, with its fix."""

from __future__ import annotations

import time
from pathlib import Path

from ob1_gateway.access.keys import issue_key
from ob1_gateway.cli.serve_command import readiness
from ob1_gateway.settings import load_settings
from ob1_gateway.stores.backends import build_backends
from ob1_gateway.stores.base import KeyPolicy, OB1Token


def test_ready_when_logged_in_with_an_active_key(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    backends = build_backends(settings)
    backends.token_store.save(OB1Token("at", "rt", time.time() + 60))  # expiring, but refreshable
    backends.key_store.put(issue_key("alice")[0])
    assert readiness(settings, backends) == []


def test_a_login_that_cannot_be_refreshed_and_only_expired_keys(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    backends = build_backends(settings)
    backends.token_store.save(OB1Token("at", None, time.time() + 3600))
    backends.key_store.put(issue_key("old", policy=KeyPolicy(expires_at=time.time() - 1))[0])
    problems = readiness(settings, backends)
    assert any("expires within a day and cannot be refreshed" in p and "`ob1gw login`" in p for p in problems)
    assert any("no active caller keys" in p for p in problems)


def test_a_static_upstream_key_needs_no_login(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, upstream_api_key="sk-static-key-for-tests")
    backends = build_backends(settings)
    backends.key_store.put(issue_key("alice")[0])
    assert readiness(settings, backends) == []
