"""Run a Lambda entry point with what the SharedLayer has: only its packages, and their bytecode.

The dev venv holds packages the layer does not (tests, the CLI, the SDKs), and several change what a
cold start does when they are importable: httpx imports its command-line tool (rich, pygments), PyJWT
imports cryptography, uvicorn picks uvloop and httptools, pydantic scans every installed distribution
for plugins. ``layer_env`` hides each top-level module that is not in the layer (``shared/requirements.txt``
and what it depends on, plus boto3 with its dependencies from the Lambda runtime) from the child process,
through ``layer_site/sitecustomize.py``, and precompiles ``shared/`` as the layer's Makefile does (a dev
environment with ``PYTHONDONTWRITEBYTECODE`` would otherwise compile every gateway module at each start).
"""

from __future__ import annotations

import compileall
import os
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(__file__).resolve().parent / "layer_site"
HIDDEN_VARIABLE = "BENCH_NOT_IN_LAYER"
RUNTIME_PROVIDED = ("boto3",)  # the python3.13 runtime ships boto3, botocore and their dependencies


def layer_distributions() -> set[str]:
    """The distributions the layer and the runtime hold: the closure of the requirements, as installed here."""
    lines = (ROOT / "shared" / "requirements.txt").read_text().splitlines()
    todo = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    todo += [Requirement(name) for name in RUNTIME_PROVIDED]
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue
        names.add(key[0])
        for spec in dist.requires or []:
            dep = Requirement(spec)
            extras = req.extras or {""}
            if dep.marker is None or any(dep.marker.evaluate({"extra": extra}) for extra in extras):
                todo.append(dep)
    return names


@cache
def not_in_layer() -> tuple[str, ...]:
    """Top-level modules installed here that no layer distribution provides (the gateway's own aside)."""
    wanted = layer_distributions() | {"ob1-gateway"}
    hidden = {
        module
        for module, dists in metadata.packages_distributions().items()
        if not any(canonicalize_name(d) in wanted for d in dists)
        and module not in sys.stdlib_module_names
        and not module.startswith("__editable__")
        and module.isidentifier()
    }
    return tuple(sorted(hidden))


def precompile() -> None:
    """Bytecode for ``shared/``, as the layer ships it (Lambda's /opt is read-only)."""
    compileall.compile_dir(ROOT / "shared" / "ob1_gateway", quiet=1)


def layer_env(env: dict[str, str], *paths: str) -> dict[str, str]:
    """``env`` for a child process that sees only the layer: ``paths`` (e.g. ``shared/``) after the hider."""
    precompile()
    pythonpath = os.pathsep.join([str(SITE), *paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**env, "PYTHONPATH": pythonpath, HIDDEN_VARIABLE: ",".join(not_in_layer())}
