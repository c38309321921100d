"""``upstream/http.py``: the proxy the environment names, read the way curl reads it."""

from __future__ import annotations

import pytest
from ob1_gateway.upstream.http import env_proxy

UPSTREAM = "https://dashboard.openblocklabs.com/api/v1"


@pytest.fixture(autouse=True)
def _no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_no_proxy_variables_no_proxy() -> None:
    assert env_proxy(UPSTREAM) is None


def test_the_scheme_s_proxy_and_one_without_a_scheme_is_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "proxy.corp:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://other:8080")
    assert env_proxy(UPSTREAM) == "http://proxy.corp:3128"
    assert env_proxy("http://10.1.2.3:9000/v1") == "http://other:8080"


def test_no_proxy_bypasses_named_hosts_ipv6_included(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "openblocklabs.com,::1")
    assert env_proxy(UPSTREAM) is None
    assert env_proxy("http://[::1]:8000/v1") is None
    assert env_proxy("https://api.workos.com/user_management") == "http://proxy.corp:3128"


def test_a_socks_proxy_is_ignored_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    assert env_proxy(UPSTREAM) is None
    assert "only HTTP(S) proxies" in caplog.text
