"""The README's two commands from a fresh clone: ``make serve`` installs only what serving needs (no npm) and
runs the gateway; ``make test`` installs the test toolchain, with npm only when it is there."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(target: str, tmp_path: Path) -> str:
    """What ``make TARGET`` would run in a fresh clone (no venv yet), without running it."""
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("Makefile", "pyproject.toml", "package.json"):
        shutil.copy(REPO / name, clone / name)
    # as a user's shell runs it, not as a sub-make of `make test` (which would print "Entering directory")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", target, "PYTHON=python3"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_make_serve_installs_the_gateway_and_runs_it_without_npm(tmp_path: Path) -> None:
    plan = dry_run("serve", tmp_path)
    assert "pip install" in plan and "-e ." in plan and "[test]" not in plan
    assert "npm" not in plan
    assert plan.strip().splitlines()[-1].strip().startswith(".venv/bin/ob1gw serve")


def test_make_test_installs_the_toolchain_and_npm_only_if_present(tmp_path: Path) -> None:
    plan = dry_run("test", tmp_path)
    assert "-e '.[test]'" in plan and "command -v npm" in plan and "will be skipped" in plan
    assert plan.strip().splitlines()[-1].strip().startswith(".venv/bin/python -m pytest")
    readme = (REPO / "README.md").read_text()
    commands = readme.split("## The two commands", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in commands.strip().splitlines()] == [["make", "serve"], ["make", "test"]]
