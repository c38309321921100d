"""Package docstrings list what is there: ``translate/``'s index names every module of the translator (and
nothing that is gone), and every other package's docstring names each of its modules, so a newcomer finds
a room by reading its door."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "shared" / "ob1_gateway"
_INDEX_ENTRY = re.compile(r"^ {4}(\S+)\s{2,}\S", re.MULTILINE)


def docstring(package: Path) -> str:
    return ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""


def members(package: Path) -> list[str]:
    """The package's own modules and subpackages (``name`` / ``name/``), not theirs."""
    found = [p.stem for p in package.glob("*.py") if p.stem not in {"__init__", "__main__"}]
    found += [f"{p.name}/" for p in package.iterdir() if (p / "__init__.py").is_file()]
    return sorted(found)


def translate_modules(root: Path) -> set[str]:
    """Every module below ``root`` as its path from there, without ``.py`` (``anthropic/anthropic_in``)."""
    return {p.relative_to(root).with_suffix("").as_posix() for p in root.rglob("*.py") if p.stem != "__init__"}


def index_entries(text: str) -> set[str]:
    return set(_INDEX_ENTRY.findall(text))


def unnamed(text: str, names: list[str]) -> list[str]:
    """The names ``text`` never mentions as a word (``local/`` as ``local/`` or ``local``)."""
    words = set(re.findall(r"[A-Za-z_][\w]*/?", text))
    return [n for n in names if n not in words and n.rstrip("/") not in words]


def test_the_translate_index_is_the_translator() -> None:
    root = PACKAGE / "translate"
    entries, modules = index_entries(docstring(root)), translate_modules(root)
    assert sorted(modules - entries) == []  # a module the index does not list
    assert sorted(entries - modules) == []  # an entry for a module that is gone


def packages() -> list[Path]:
    return sorted(p.parent for p in PACKAGE.rglob("__init__.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("package", packages(), ids=lambda p: p.relative_to(PACKAGE.parent).as_posix())
def test_each_package_docstring_names_its_modules(package: Path) -> None:
    assert unnamed(docstring(package), members(package)) == []


def test_the_checks_catch_a_missing_or_stale_entry(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("__init__.py", "kept.py", "forgotten.py", "sub/__init__.py", "sub/inner.py"):
        (tmp_path / name).write_text("")
    text = '"""Modules:\n    kept        listed\n    sub/inner   listed\n    gone        stale\n"""'
    assert translate_modules(tmp_path) - index_entries(text) == {"forgotten"}
    assert index_entries(text) - translate_modules(tmp_path) == {"gone"}
    assert unnamed("kept and sub/ are here", members(tmp_path)) == ["forgotten"]


def test_no_two_modules_share_a_name() -> None:
    """A name says which room: ``usage.py`` in three packages made a reader open all three."""
    stems = [p.stem for p in PACKAGE.rglob("*.py") if p.stem not in {"__init__", "__main__"}]
    assert sorted({s for s in stems if stems.count(s) > 1}) == []
