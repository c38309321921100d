"""``make conformance``: the SDK makers' own live-server tests, run against ``ob1gw serve``.

The ``anthropic`` and ``openai`` sdists on the package index ship ``tests/api_resources``: one test per
endpoint and call style, pointed at a server by ``TEST_API_BASE_URL``, each run with the SDK's strict
response validation and without (ids ``strict``/``aiohttp`` and ``loose``). This driver:

1. makes a venv of its own (``.venv-conformance``: the suites need test libraries the project does not),
   with the SDK versions installed in the project's venv (the pins in pyproject.toml), their test
   dependencies, and their sdists, downloaded and unpacked beside it;
2. starts the fake OB-1 upstream and ``ob1gw serve`` on it, as the test suite does (``tests/fixtures``);
3. runs, per SDK, the suite files of the endpoints the gateway offers (``SUITES``), with the key it
   issued and the exclusions in ``exclusions.toml`` (``ob1gw_conformance_plugin``);
4. prints the counts per SDK and mode, and fails if any test failed (an excluded test that passes
   fails too: its exclusion is stale).

The suites ask for placeholder models (``model_id``, ``gpt-6-astra``…); the gateway maps them to the
fake's models with ``OB1GW_MODEL_ALIASES``, as an admin maps a team's own names. ``claude-opus-5-5``
is served by the Claude family fallback. ``--sdk`` runs one suite; extra arguments go to its pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import venv
import xml.etree.ElementTree as ET
from collections import Counter
from importlib import metadata
from pathlib import Path

import httpx

from tests.conformance.seed import SEED_FILE
from tests.fakes.ob1_fake import FakeOB1Server
from tests.fixtures.gateway import ServedGateway, served

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EXCLUSIONS = HERE / "exclusions.toml"
PLUGIN = "ob1gw_conformance_plugin"

# The suite files of what the gateway offers, and of the Anthropic endpoints it refuses by name (their
# tests are excluded as "not offered", and must fail with a 4xx).
SUITES: dict[str, list[str]] = {
    "anthropic": [
        "tests/api_resources/test_messages.py",
        "tests/api_resources/test_models.py",
        "tests/api_resources/beta/test_messages.py",
        "tests/api_resources/beta/test_models.py",
        "tests/api_resources/messages/test_batches.py",
        "tests/api_resources/beta/messages/test_batches.py",
    ],
    "openai": [
        "tests/api_resources/chat/test_completions.py",
        "tests/api_resources/test_models.py",
        "tests/api_resources/test_responses.py",
        "tests/api_resources/responses",
    ],
}
# What the suites import beyond the SDK itself (their pyproject's dev group, less linters and type checkers),
# pinned so that a run changes only when a pin does.
TEST_DEPENDENCIES = [
    "pytest==9.2.0",
    "pytest-asyncio==1.5.0",
    "respx==0.23.1",
    "dirty-equals==0.11",
    "inline-snapshot==0.36.1",
    "http-snapshot[httpx]==0.1.9",
    "time-machine==3.6.0",
    "httpx2==2.16.2",
]
# An early plugin a suite's own pyproject loads (its addopts are replaced: they ask for xdist's -n auto).
EARLY_PLUGINS = {"anthropic": ["tests._alias_httpx"], "openai": []}
# Where each SDK's clients expect the API (the openai SDK's base URL includes the version).
API_PATH = {"anthropic": "", "openai": "/v1"}
ALIASES = {
    "model_id": "anthropic/claude-sonnet-4.5",
    "claude-mythos-preview": "anthropic/claude-opus-4.1",  # a deprecated model the SDK warns about
    "gpt-6-astra": "openai/gpt-5",  # openai up to 3.57
    "gpt-6.2-astra": "openai/gpt-5",  # openai 3.60 and later
    "model": "openai/gpt-4o-mini",
}


def prepare(cache: Path, versions: dict[str, str]) -> dict[str, Path]:
    """The venv with the pinned SDKs and their test dependencies, and each SDK's unpacked sdist."""
    python = cache / "bin" / "python"
    if not python.exists():
        venv.create(cache, with_pip=True)
    pins = [f"{sdk}[aiohttp]=={version}" for sdk, version in versions.items()]
    pip = [str(python), "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", *pins, *TEST_DEPENDENCIES], check=True)
    roots = {}
    for sdk, version in versions.items():
        root = cache / "suites" / f"{sdk}-{version}"
        if not (root / "tests").is_dir():
            sdists = cache / "sdists"
            archive = sdists / f"{sdk}-{version}.tar.gz"
            if not archive.exists():
                subprocess.run(
                    [*pip, "download", "--no-binary", ":all:", "--no-deps", "-d", str(sdists), f"{sdk}=={version}"],
                    check=True,
                )
            with tarfile.open(archive) as tar:
                tar.extractall(root.parent, filter="data")
        roots[sdk] = root
    return roots


def made_response(gateway: ServedGateway, home: Path) -> None:
    """One real stored response, kept for ``seed`` (the openai suite's retrieve/delete/cancel tests)."""
    answer = httpx.post(
        gateway.base_url + "/v1/responses",
        headers={"Authorization": f"Bearer {gateway.key}"},
        json={"model": "gpt-4o-mini", "input": "conformance"},
        timeout=30,
    )
    answer.raise_for_status()
    stored = gateway.backends.response_store.get(gateway.key_id, answer.json()["id"])
    assert stored is not None, "the gateway did not store its response"
    (home / SEED_FILE).write_bytes(stored.to_bytes())


def run_suite(
    python: Path, sdk: str, root: Path, gateway: ServedGateway, home: Path, report: Path, extra: list[str]
) -> int:
    base_url, key = gateway.base_url, gateway.key
    seed = [sys.executable, "-m", "tests.conformance.seed", str(home), gateway.key_id]
    env = {
        **os.environ,
        "OB1GW_CONFORMANCE_SEED": json.dumps(seed),
        "OB1GW_CONFORMANCE_REPO": str(REPO),
        "TEST_API_BASE_URL": base_url + API_PATH[sdk],
        "PYTHONPATH": str(HERE),
        "OB1GW_CONFORMANCE_SDK": sdk,
        "OB1GW_CONFORMANCE_KEY": key,
        "OB1GW_CONFORMANCE_EXCLUSIONS": str(EXCLUSIONS),
    }
    plugins = [arg for name in [*EARLY_PLUGINS[sdk], PLUGIN] for arg in ("-p", name)]
    command = [str(python), "-m", "pytest", "-o", "addopts=", *plugins, "-p", "no:cacheprovider"]
    command += ["-q", "--tb=short", "-rfE", f"--junitxml={report}", *extra, *SUITES[sdk]]
    return subprocess.run(command, cwd=root, env=env, check=False).returncode


def counts(report: Path) -> Counter[tuple[str, str]]:
    """(mode, outcome) → tests, from pytest's JUnit XML: mode from the parametrize id, ``strict`` for
    the aiohttp client (it validates strictly)."""
    tally: Counter[tuple[str, str]] = Counter()
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name", "")
        mode = "loose" if "[loose" in name else "strict"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
            elif child.tag == "skipped":
                outcome = "excluded" if (child.get("type") == "pytest.xfail") else "skipped"
        tally[mode, outcome] += 1
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sdk", choices=sorted(SUITES), action="append", help="one SDK (default: both)")
    parser.add_argument("--cache", type=Path, default=REPO / ".venv-conformance")
    parser.add_argument("pytest_args", nargs="*", help="passed to each suite's pytest (e.g. -k models)")
    args = parser.parse_args(argv)
    sdks = args.sdk or sorted(SUITES)
    versions = {sdk: metadata.version(sdk) for sdk in sdks}
    roots = prepare(args.cache.resolve(), versions)
    python = args.cache.resolve() / "bin" / "python"
    results: dict[str, tuple[int, Counter[tuple[str, str]]]] = {}
    with tempfile.TemporaryDirectory(prefix="ob1gw-conformance-") as scratch, FakeOB1Server() as fake:
        home = Path(scratch) / "home"
        with served(home, fake, model_aliases=json.dumps(ALIASES)) as gateway:
            made_response(gateway, home)
            for sdk in sdks:
                report = Path(scratch) / f"{sdk}.xml"
                code = run_suite(python, sdk, roots[sdk], gateway, home, report, args.pytest_args)
                results[sdk] = (code, counts(report) if report.exists() else Counter())
    print("\n== conformance (the SDKs' own tests/api_resources against ob1gw serve)")
    failed = False
    for sdk, (code, tally) in results.items():
        for mode in ("strict", "loose"):
            line = ", ".join(f"{tally[mode, o]} {o}" for o in ("passed", "failed", "excluded", "skipped"))
            print(f"{sdk} {versions[sdk]} {mode}: {line}")
        failed |= code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
