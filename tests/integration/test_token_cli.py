"""``ob1gw login`` and ``ob1gw token ...`` end to end against the fake WorkOS/OB-1, never printing tokens."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import typer
from ob1_gateway.cli.token_command import login, token_app
from ob1_gateway.settings import get_settings
from ob1_gateway.stores.base import OB1Token
from ob1_gateway.stores.local.local_stores import FileTokenStore
from typer.testing import CliRunner

from tests.fakes.ob1_fake import FakeOB1Server

app = typer.Typer()
app.command("login")(login)
app.add_typer(token_app, name="token")
runner = CliRunner()

TWO_ORGS = [
    {"organizationId": "org_A", "organizationName": "Alpha"},
    {"organizationId": "org_B", "organizationName": "Beta"},
]


def _stored() -> OB1Token | None:
    return FileTokenStore(get_settings().token_file).load()


def _works(fake: FakeOB1Server, token: OB1Token) -> bool:
    response = httpx.get(fake.upstream_url + "/models", headers={"Authorization": token.authorization()})
    return response.status_code == 200


def _no_secrets(output: str, *tokens: OB1Token | None) -> None:
    for token in tokens:
        if token is None:
            continue
        assert token.access_token not in output
        if token.refresh_token:
            assert token.refresh_token not in output


def test_device_login_end_to_end(fake_ob1: FakeOB1Server, ob1_env: Path) -> None:
    fake_ob1.configure(device_pending_polls=3)
    result = runner.invoke(app, ["login"])
    assert result.exit_code == 0, result.output
    assert "https://fake.workos.test/device?user_code=" in result.output
    user_code = result.output.split("user_code=")[1].split()[0]
    assert f"confirm the code {user_code}" in result.output
    token = _stored()
    assert token is not None and token.organization_id == "org_01FAKEORG"
    assert token.email == "dev@example.com" and token.refresh_token
    assert token.expires_within(3700) and not token.expires_within(3000)
    assert _works(fake_ob1, token)
    assert [r["grant_type"] for r in fake_ob1.state.auth_requests].count(
        "urn:ietf:params:oauth:grant-type:device_code"
    ) == 4
    _no_secrets(result.output, token)


def test_login_with_several_orgs_takes_the_first_and_says_so(fake_ob1: FakeOB1Server, ob1_env: Path) -> None:
    fake_ob1.configure(orgs=TWO_ORGS)
    result = runner.invoke(app, ["login"])
    assert result.exit_code == 0, result.output
    assert "Using organization org_A" in result.output and "org_B" in result.output
    assert _stored().organization_id == "org_A"


def test_login_with_org_option(fake_ob1: FakeOB1Server, ob1_env: Path) -> None:
    fake_ob1.configure(orgs=TWO_ORGS)
    result = runner.invoke(app, ["login", "--org", "org_B"])
    assert result.exit_code == 0, result.output
    token = _stored()
    assert token.organization_id == "org_B" and _works(fake_ob1, token)
    bad = runner.invoke(app, ["login", "--org", "org_Z"])
    assert bad.exit_code == 1 and "not a member of organization org_Z" in bad.output
    assert _stored() == token


def test_login_slow_down_then_success(fake_ob1: FakeOB1Server, ob1_env: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ob1_gateway.upstream import workos

    original = workos.WorkOSClient.__init__

    def quick(self, settings, **kwargs):  # type: ignore[no-untyped-def]
        original(self, settings, **{**kwargs, "slow_down_step": 0.01})

    monkeypatch.setattr(workos.WorkOSClient, "__init__", quick)
    fake_ob1.configure(device_mode="slow_down", device_pending_polls=1)
    result = runner.invoke(app, ["login"])
    assert result.exit_code == 0, result.output
    assert _stored() is not None


@pytest.mark.parametrize(("mode", "message"), [("expired", "expired"), ("denied", "denied")])
def test_login_that_never_completes_fails_cleanly(
    fake_ob1: FakeOB1Server, ob1_env: Path, mode: str, message: str
) -> None:
    fake_ob1.configure(device_mode=mode)
    result = runner.invoke(app, ["login"])
    assert result.exit_code == 1 and message in result.output
    assert _stored() is None


def test_import_then_status_never_shows_tokens(fake_ob1: FakeOB1Server, ob1_env: Path, tmp_path: Path) -> None:
    login_dict = fake_ob1.issue_login()
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps(fake_ob1.credentials_json(login_dict)))
    imported = runner.invoke(app, ["token", "import", str(path)])
    assert imported.exit_code == 0, imported.output
    token = _stored()
    assert token.access_token == login_dict["access_token"]
    assert token.refresh_token == login_dict["refresh_token"]
    assert abs(token.expires_at - login_dict["expires_at"]) < 1
    assert token.organization_id == login_dict["organization_id"] and _works(fake_ob1, token)

    text = runner.invoke(app, ["token", "status"])
    assert text.exit_code == 0
    assert "dev@example.com" in text.output and login_dict["organization_id"] in text.output
    assert "Refresh token: yes" in text.output
    as_json = runner.invoke(app, ["token", "status", "--json"])
    info = json.loads(as_json.output)
    assert info["logged_in"] and info["has_refresh_token"] and not info["expired"]
    assert 3500 < info["expires_in_seconds"] <= 3600
    for output in (imported.output, text.output, as_json.output):
        _no_secrets(output, token)


def test_import_default_path_and_errors(fake_ob1: FakeOB1Server, ob1_env: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HOME", str(tmp_path))
    missing = runner.invoke(app, ["token", "import"])
    assert missing.exit_code == 1 and ".ob1/credentials.json does not exist" in missing.output
    creds = tmp_path / ".ob1" / "credentials.json"
    creds.parent.mkdir()
    for bad, why in [
        ("{not json", "cannot read"),
        (json.dumps({"token": "x"}), '"oauth" object'),
        (json.dumps({"oauth": {"refresh_token": "rt-hidden"}}), "access_token"),
        (json.dumps({"oauth": {"access_token": "at-hidden", "expires_at": "soon"}}), "milliseconds"),
    ]:
        creds.write_text(bad)
        result = runner.invoke(app, ["token", "import"])
        assert result.exit_code == 1 and why in result.output, result.output
        assert "hidden" not in result.output
    assert _stored() is None
    creds.write_text(json.dumps(fake_ob1.credentials_json(fake_ob1.issue_login())))
    assert runner.invoke(app, ["token", "import"]).exit_code == 0
    assert _stored() is not None


def test_status_when_logged_out(ob1_env: Path) -> None:
    result = runner.invoke(app, ["token", "status"])
    assert result.exit_code == 1 and "ob1gw login" in result.output
    # every way forward is named: the device login, the OB-1 CLI's file, a static upstream key
    assert "token import" in result.output and "OB1GW_UPSTREAM_API_KEY" in result.output
    as_json = runner.invoke(app, ["token", "status", "--json"])
    assert json.loads(as_json.output.splitlines()[0]) == {"mode": "login", "logged_in": False}


def test_status_names_a_static_upstream_key(ob1_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With OB1GW_UPSTREAM_API_KEY no login is needed: status says so and succeeds (it said "no login", rc 1)."""
    monkeypatch.setenv("OB1GW_UPSTREAM_API_KEY", "sk-or-static-0123456789")
    get_settings.cache_clear()
    result = runner.invoke(app, ["token", "status"])
    assert result.exit_code == 0 and "static key (OB1GW_UPSTREAM_API_KEY)" in result.output
    assert "sk-or-static" not in result.output
    as_json = runner.invoke(app, ["token", "status", "--json"])
    assert json.loads(as_json.output) == {"mode": "static_key", "logged_in": False}


def test_status_of_an_expired_login(fake_ob1: FakeOB1Server, ob1_env: Path) -> None:
    FileTokenStore(get_settings().token_file).save(OB1Token.from_dict(fake_ob1.issue_login(expires_in=-120)))
    result = runner.invoke(app, ["token", "status", "--json"])
    info = json.loads(result.output)
    assert info["expired"] and info["expires_in_seconds"] <= -119
    assert "(expired)" in runner.invoke(app, ["token", "status"]).output


def test_token_refresh_forces_one_rotation(fake_ob1: FakeOB1Server, ob1_login: OB1Token) -> None:
    result = runner.invoke(app, ["token", "refresh"])
    assert result.exit_code == 0, result.output
    assert fake_ob1.refresh_calls == 1
    token = _stored()
    assert token.refresh_token != ob1_login.refresh_token and _works(fake_ob1, token)
    _no_secrets(result.output, token, ob1_login)
    fake_ob1.revoke_refresh_tokens()
    dead = runner.invoke(app, ["token", "refresh"])
    assert dead.exit_code == 1 and "ob1gw login" in dead.output
    _no_secrets(dead.output, token)


def test_login_json_prints_the_login_without_tokens(fake_ob1: FakeOB1Server, ob1_env: Path) -> None:
    """A script can read the result from stdout; the device-flow prompts go to stderr."""
    result = runner.invoke(app, ["login", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    token = _stored()
    assert token is not None and info["logged_in"] and info["email"] == "dev@example.com"
    assert info["organization_id"] == token.organization_id and info["has_refresh_token"] is True
    assert 3000 < info["expires_in_seconds"] <= 3600
    assert "confirm the code" in result.stderr and "confirm the code" not in result.stdout
    _no_secrets(result.output, token)
