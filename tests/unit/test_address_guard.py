"""Which addresses a fetch made for a model may never reach (SSRF), IPv4 and IPv6, IPv4 hidden in IPv6 included."""

from __future__ import annotations

import pytest
from ob1_gateway.websearch.address_guard import forbidden_reason


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "224.0.0.1", "0.0.0.0", "240.0.0.1", "::1", "fe80::1", "fe80::1%eth0", "fd00:ec2::254", "fc00::1",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::", "ff02::1", "::",
    ],
)  # fmt: skip
def test_internal_addresses_are_refused(address: str) -> None:
    assert forbidden_reason(address) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "2a00:1450::1"])
def test_public_addresses_are_reachable(address: str) -> None:
    assert forbidden_reason(address) is None


def test_the_metadata_service_is_named() -> None:
    assert "metadata" in (forbidden_reason("169.254.169.254") or "")
