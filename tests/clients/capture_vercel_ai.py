"""Capture what the Vercel AI SDK (npm ``ai`` + ``@ai-sdk/openai``, as pinned in package.json) sends on its
defaults, into ``tests/fixtures/clients/vercel-ai-<ai version>-<scenario>.json``::

    python -m tests.clients.capture_vercel_ai [--out DIR]

Unlike the Anthropic clients (``tests.clients.capture``, a recording server with scripted replies), the SDK
talks to the gateway itself on the fake OB-1: what it sends on a second turn depends on the ids and items
the first answer carried, so only a real Responses server shows it. The requests are recorded by the Node
script (``tests/e2e/vercel_ai/conversation.mjs``, which the e2e test runs too) through the provider's
``fetch`` option; the fixtures keep the same shape and trimming as the other clients'.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.clients.capture import DEFAULT_OUT, build_fixture
from tests.fakes import faults
from tests.fakes.ob1_fake import FakeOB1Server
from tests.fixtures.gateway import GatewayHandle

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "e2e" / "vercel_ai" / "conversation.mjs"
PACKAGES = ("ai", "@ai-sdk/openai", "zod")
MODEL = "gpt-5.1"
# The fake upstream has one reasoning model; an operator alias sends the SDK's default model name to it.
ALIASES = {MODEL: "openai/gpt-5"}
SCENARIOS = ("two-turns", "two-turns-stream", "tool-loop", "tool-loop-stream", "two-turns-unstored")


def installed_versions() -> dict[str, str]:
    """The versions in node_modules (what actually ran), not the ones package.json asks for."""
    return {
        name: json.loads((REPO / "node_modules" / name / "package.json").read_text())["version"] for name in PACKAGES
    }


def run_script(gw: GatewayHandle, scenario: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run one scenario of the Node script against ``gw``; returns the process and its JSON report."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "OB1GW_BASE_URL": gw.base_url + "/v1",
        "OB1GW_KEY": gw.key,
    }
    proc = subprocess.run(
        ["node", str(SCRIPT), scenario, MODEL],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout.strip(), f"the script printed nothing: {proc.stderr[-2000:]}"
    return proc, json.loads(proc.stdout)


def capture(out: Path) -> list[Path]:
    versions = installed_versions()
    fake = FakeOB1Server().start()
    written = []
    try:
        for scenario in SCENARIOS:
            fake.reset()
            with (
                tempfile.TemporaryDirectory() as home,
                faults.start_gateway(Path(home), fake, model_aliases=ALIASES) as gw,
            ):
                proc, report = run_script(gw, scenario)
            result = {
                "returncode": 1 if report["error"] else proc.returncode,
                "stdout": json.dumps({"turns": report["turns"], "error": report["error"]}),
                "stderr": proc.stderr[-2000:],
            }
            command = {
                "argv": ["node", "tests/e2e/vercel_ai/conversation.mjs", scenario, MODEL],
                "note": f"against the gateway on the fake OB-1 (alias {MODEL} -> {ALIASES[MODEL]}); "
                "createOpenAI({baseURL, apiKey, fetch: <recorder>}), openai(model), no other option"
                + (" but providerOptions {openai: {store: false}}" if "unstored" in scenario else ""),
            }
            fixture = build_fixture(
                "vercel-ai", versions["ai"], scenario, command, report["requests"], packages=versions, result=result
            )
            path = out / f"vercel-ai-{versions['ai']}-{scenario}.json"
            path.write_text(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n")
            written.append(path)
    finally:
        fake.stop()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    for path in capture(args.out):
        print(path)


if __name__ == "__main__":
    main()
