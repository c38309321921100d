"""``lazy_openapi.import_fastapi`` (the Lambda entry points): FastAPI's OpenAPI models are built when a
document is first made, not at import; models defined afterwards are built as usual. In a fresh
interpreter, since the test process has imported FastAPI already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import json, sys
from ob1_gateway.lazy_openapi import import_fastapi
deferred = import_fastapi()
import fastapi.openapi.models as models
from ob1_gateway.app import create_app
from ob1_gateway.settings import load_settings
from ob1_gateway.translate.schema import AnthropicMessagesRequest
before = models.OpenAPI.__pydantic_complete__
spec = create_app(load_settings(home=sys.argv[1])).openapi()
print(json.dumps({
    "deferred": deferred,
    "built_at_import": before,
    "built_for_the_document": models.OpenAPI.__pydantic_complete__,
    "contract_built_at_import": AnthropicMessagesRequest.__pydantic_complete__,
    "paths": sorted(spec["paths"]),
    "messages_body": "requestBody" in spec["paths"]["/v1/messages"]["post"],
}))
"""


def test_openapi_models_wait_for_the_first_document(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "shared"), "HOME": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path / "home")], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["deferred"] is True
    assert seen["built_at_import"] is False  # the ~50 ms this saves
    assert seen["built_for_the_document"] is True
    assert seen["contract_built_at_import"] is True  # defer_build is back to pydantic's default
    assert "/v1/messages" in seen["paths"] and seen["messages_body"]
