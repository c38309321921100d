"""``cold_imports.lean_imports`` (the Lambda entry points), in a fresh interpreter since the test process
has imported FastAPI and aiohttp already: FastAPI's OpenAPI models are built when a document is first
made, not at import, and models defined afterwards are built as usual; aiohttp's non-verifying TLS
context holds no CA certificates, its verifying one holds the system's, and HTTPS still verifies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import json, ssl, sys
from ob1_gateway.hosting.cold_imports import lean_imports
lean_imports()
import aiohttp.connector as connector
import fastapi.openapi.models as models
from ob1_gateway.app import create_app
from ob1_gateway.settings import load_settings
from ob1_gateway.translate.schema import AnthropicMessagesRequest
before = models.OpenAPI.__pydantic_complete__
spec = create_app(load_settings(home=sys.argv[1])).openapi()
print(json.dumps({
    "built_at_import": before,
    "built_for_the_document": models.OpenAPI.__pydantic_complete__,
    "contract_built_at_import": AnthropicMessagesRequest.__pydantic_complete__,
    "messages_body": "requestBody" in spec["paths"]["/v1/messages"]["post"],
    "verified_cas": connector._SSL_CONTEXT_VERIFIED.cert_store_stats()["x509_ca"],
    "unverified_cas": connector._SSL_CONTEXT_UNVERIFIED.cert_store_stats()["x509_ca"],
    "system_cas": ssl.create_default_context().cert_store_stats()["x509_ca"],
    "loader_restored": ssl.SSLContext.set_default_verify_paths.__qualname__,
}))
"""


def test_cold_imports_skip_only_what_nothing_uses(tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if k.startswith("SSL_")}, "PATH": "/usr/bin:/bin"}
    env |= {"PYTHONPATH": str(ROOT / "shared"), "HOME": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path / "home")], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["built_at_import"] is False  # the ~50 ms this saves
    assert seen["built_for_the_document"] is True and seen["messages_body"]
    assert seen["contract_built_at_import"] is True  # defer_build is back to pydantic's default
    assert seen["unverified_cas"] == 0  # the ~20 ms this saves
    assert seen["verified_cas"] == seen["system_cas"] > 0  # what the gateway's connections verify with
    assert "unless_unverified" not in seen["loader_restored"]
