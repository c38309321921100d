"""Imports point down: the core (access, metering, stores, upstream, translate) never imports the HTTP
layer, the app that assembles it, the hosting glue, the CLI, or the web framework. Every import counts,
at module level or inside a function or ``TYPE_CHECKING`` block, relative or absolute."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "shared" / "ob1_gateway"
CORE = ("access", "metering", "stores", "upstream", "websearch", "translate")
ABOVE_THE_CORE = (
    "ob1_gateway.api",
    "ob1_gateway.app",
    "ob1_gateway.gateway",
    "ob1_gateway.hosting",
    "ob1_gateway.cli",
    "fastapi",
    "starlette",
    "mangum",
    "uvicorn",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> list[str]:
    """Every module ``source`` (the text of ``module``) imports, as absolute names; ``from X import y``
    counts ``X.y`` too, since ``y`` may be a module."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.append(base)
            found += [f"{base}.{alias.name}" for alias in node.names]
    return found


def upward(imported: list[str]) -> list[str]:
    return sorted({m for m in imported if any(m == top or m.startswith(top + ".") for top in ABOVE_THE_CORE)})


def core_modules() -> list[Path]:
    return sorted(p for room in CORE for p in (PACKAGE / room).rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_module_imports_nothing_above_it(path: Path) -> None:
    found = upward(imported_modules(path.read_text(), module_name(path), path.name == "__init__.py"))
    assert not found, f"{module_name(path)} imports {found}: the core must not depend on the HTTP layer"


def test_every_room_of_the_core_is_checked() -> None:
    rooms = {module_name(p).split(".")[1] for p in core_modules()}
    assert rooms == set(CORE)


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from ..api.errors import ApiError", "ob1_gateway.access.budgets", "ob1_gateway.api.errors"),
        ("from .. import app", "ob1_gateway.metering.meter", "ob1_gateway.app"),
        ("if TYPE_CHECKING:\n    from ...gateway import G", "ob1_gateway.stores.aws.aws_usage", "ob1_gateway.gateway"),
        ("def f():\n    from fastapi import Request", "ob1_gateway.translate.schema", "fastapi"),
        ("import starlette.requests", "ob1_gateway.upstream.client", "starlette.requests"),
        ("from ..stores.base import KeyRecord\nfrom .keys import parse_key", "ob1_gateway.access.authenticator", None),
    ],
)
def test_the_check_finds_an_upward_import(source: str, module: str, expected: str | None) -> None:
    found = upward(imported_modules(source, module))
    assert (found[0] if found else None) == expected
