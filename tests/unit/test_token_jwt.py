"""Expiry parsing for WorkOS grants: JWT ``exp`` first, then ``expires_in``, then one hour."""

from __future__ import annotations

import asyncio

import jwt
import pytest
from ob1_gateway.stores.base import OB1Token
from ob1_gateway.upstream.token import StaticKey, StaticKeyRejected
from ob1_gateway.upstream.workos import AuthUnavailable, jwt_expiry, token_from_grant


def _jwt(**claims: object) -> str:
    return jwt.encode(claims, "a-key-that-is-not-the-issuers-signing-key", algorithm="HS256")


def test_jwt_expiry_reads_exp_without_the_signing_key() -> None:
    assert jwt_expiry(_jwt(sub="u", exp=1_900_000_000)) == 1_900_000_000.0
    assert jwt_expiry(_jwt(sub="u")) is None
    assert jwt_expiry("not-a-jwt") is None
    assert jwt_expiry(_jwt(exp="soon")) is None


def test_expiry_prefers_jwt_exp_over_expires_in() -> None:
    token = token_from_grant({"access_token": _jwt(exp=1_800_000_000), "expires_in": 10}, now=1000.0)
    assert token.expires_at == 1_800_000_000.0


def test_expiry_falls_back_to_expires_in_then_an_hour() -> None:
    assert token_from_grant({"access_token": "opaque", "expires_in": 120}, now=1000.0).expires_at == 1120.0
    assert token_from_grant({"access_token": "opaque"}, now=1000.0).expires_at == 4600.0
    assert token_from_grant({"access_token": _jwt(sub="u"), "expires_in": 0}, now=1000.0).expires_at == 4600.0


def test_grant_fields_and_fallbacks() -> None:
    previous = OB1Token(access_token="old", refresh_token="rt-old", organization_id="org_prev", email="p@x.io")
    body = {"access_token": _jwt(sub="user_9", org_id="org_claim", exp=2_000_000_000)}
    token = token_from_grant(body, previous)
    assert token.refresh_token == "rt-old"  # no rotation in the response: keep the old one
    assert token.organization_id == "org_prev" and token.user_id == "user_9" and token.email == "p@x.io"
    rotated = token_from_grant(
        {
            **body,
            "refresh_token": "rt-new",
            "organization_id": "org_resp",
            "user": {"id": "u1", "email": "e@x"},
        },
        previous,
    )
    assert (rotated.refresh_token, rotated.organization_id, rotated.user_id, rotated.email) == (
        "rt-new",
        "org_resp",
        "u1",
        "e@x",
    )
    assert token_from_grant(body).organization_id == "org_claim"


def test_grant_without_access_token_is_an_error() -> None:
    with pytest.raises(AuthUnavailable):
        token_from_grant({"refresh_token": "rt"})


def test_static_key_never_refreshes() -> None:
    key = StaticKey("sk-test-123")
    assert asyncio.run(key.authorization()) == "Bearer sk-test-123"
    assert "sk-test-123" not in repr(key)
    with pytest.raises(StaticKeyRejected, match="OB1GW_UPSTREAM_API_KEY"):
        asyncio.run(key.after_rejection("Bearer sk-test-123"))
