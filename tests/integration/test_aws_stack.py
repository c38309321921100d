"""``resolve_stack`` against a stack created in moto's CloudFormation from template.yaml's own
table, secret and outputs, then used to build working AWS backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from ob1_gateway.cli.stack import StackError, resolve_stack
from ob1_gateway.settings import Settings
from ob1_gateway.stores.aws.aws_backends import build_aws_backends
from ob1_gateway.stores.base import OB1Token

from tests.fixtures.moto_server import aws, load_template


def _state_only_template(secret_arn: str) -> dict:
    """template.yaml's table and its SecretArn/TableName outputs, verbatim. moto's CloudFormation
    cannot create a Secrets Manager secret, so ``TokenSecret`` becomes a parameter of the same name
    (the output's ``Ref TokenSecret`` then yields the ARN of a secret made directly in moto)."""
    full = load_template()
    outputs = {name: full["Outputs"][name] for name in ("SecretArn", "TableName")}
    outputs["ApiUrl"] = {"Value": "https://example.execute-api.us-east-1.amazonaws.com/prod"}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        # the table's optional customer KMS key comes with it (a parameter and its condition)
        "Parameters": {
            "TokenSecret": {"Type": "String", "Default": secret_arn},
            "KmsKeyArn": full["Parameters"]["KmsKeyArn"],
        },
        "Conditions": {"HasKmsKey": full["Conditions"]["HasKmsKey"]},
        "Resources": {"GatewayTable": full["Resources"]["GatewayTable"]},
        "Outputs": outputs,
    }


def test_resolve_stack_outputs_drive_the_backends(
    moto_endpoint: str, token_secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OB1GW_AWS_ENDPOINT_URL", moto_endpoint)
    name = f"ob1gw-{uuid.uuid4().hex[:8]}"
    aws("cloudformation", moto_endpoint).create_stack(
        StackName=name, TemplateBody=json.dumps(_state_only_template(token_secret))
    )
    resolved = resolve_stack(name)
    assert set(resolved) == {"secret_id", "table_name", "api_url"}
    assert resolved["secret_id"].startswith("arn:aws:secretsmanager:")

    settings = Settings(
        backend="aws", aws_endpoint_url=moto_endpoint, **{k: resolved[k] for k in ("secret_id", "table_name")}
    )
    backends = build_aws_backends(settings)
    assert backends.token_store.load() is None  # the template's placeholder secret
    backends.token_store.save(OB1Token("a", "r", 1e10))
    assert backends.token_store.load() == OB1Token("a", "r", 1e10)
    assert backends.key_store.list() == []


def test_resolve_stack_errors(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OB1GW_AWS_ENDPOINT_URL", moto_endpoint)
    with pytest.raises(StackError, match="not found"):
        resolve_stack("no-such-stack")
    name = f"other-{uuid.uuid4().hex[:8]}"
    other = {
        "Resources": {"T": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"TopicArn": {"Value": {"Ref": "T"}}},
    }
    aws("cloudformation", moto_endpoint).create_stack(StackName=name, TemplateBody=json.dumps(other))
    with pytest.raises(StackError, match="SecretArn, TableName"):
        resolve_stack(name)


def test_cli_administers_a_stack_by_name(
    moto_endpoint: str, token_secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ob1gw --stack NAME keys …`` reads the stack's outputs and works on its DynamoDB table."""
    monkeypatch.setenv("OB1GW_AWS_ENDPOINT_URL", moto_endpoint)
    name = f"ob1gw-cli-{uuid.uuid4().hex[:8]}"
    aws("cloudformation", moto_endpoint).create_stack(
        StackName=name, TemplateBody=json.dumps(_state_only_template(token_secret))
    )
    env = {**os.environ, "OB1GW_BACKEND": "local", "OB1GW_HOME": "/nonexistent-must-not-be-used"}

    def ob1gw(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ob1_gateway.cli", "--stack", name, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    created = ob1gw("keys", "create", "carol", "--json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    listed = json.loads(ob1gw("keys", "list", "--json").stdout)
    assert [k["key_id"] for k in listed] == [key["key_id"]]
    resolved = resolve_stack(name)
    settings = Settings(
        backend="aws",
        aws_endpoint_url=moto_endpoint,
        secret_id=resolved["secret_id"],
        table_name=resolved["table_name"],
    )
    assert build_aws_backends(settings).key_store.get(key["key_id"]).name == "carol"
    status = ob1gw("token", "status")  # the template's placeholder secret means "not logged in"
    assert status.returncode == 1 and "no OB-1 login" in status.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "ob1_gateway.cli", "--stack", "no-such-stack", "keys", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "not found" in missing.stderr
