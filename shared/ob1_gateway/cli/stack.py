"""``--stack NAME``: find a deployed gateway's secret and table from its CloudFormation outputs,
so an admin never copies ARNs by hand (and a redeploy that renames them needs no config change)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

from ..settings import load_settings

# Stack output -> the setting it provides (template.yaml's Outputs).
OUTPUTS = {"SecretArn": "secret_id", "TableName": "table_name", "ApiUrl": "api_url"}
REQUIRED = ("secret_id", "table_name")


class StackError(RuntimeError):
    """The stack is missing, or lacks the outputs this gateway's template declares."""


def resolve_stack(
    name: str, *, client: Any = None, region: str | None = None, endpoint_url: str | None = None
) -> dict[str, str]:
    """``{"secret_id", "table_name"[, "api_url"]}`` from stack ``name``'s outputs.

    Uses the ambient AWS credentials/region; ``endpoint_url`` (default: ``Settings.aws_endpoint_url``)
    redirects it (tests, moto).
    """
    if client is None:
        if endpoint_url is None:
            endpoint_url = load_settings().aws_endpoint_url or None
        client = boto3.session.Session().client("cloudformation", region_name=region, endpoint_url=endpoint_url)
    try:
        stacks = client.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            raise StackError(f"stack {name!r} not found (check the region and credentials)") from None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    resolved = {setting: outputs[key] for key, setting in OUTPUTS.items() if key in outputs}
    missing = [key for key, setting in OUTPUTS.items() if setting in REQUIRED and setting not in resolved]
    if missing:
        raise StackError(f"stack {name!r} has no output(s) {', '.join(missing)}; is it an ob1-gateway stack?")
    return resolved
