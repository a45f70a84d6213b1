"""The dependency rules of DESIGN.md §1, checked on the import statements of every module."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, Set, Tuple

import pytest

REPO = Path(__file__).resolve().parents[2]
QT = {"PySide6", "PySide2", "PyQt5", "PyQt6", "shiboken6", "shiboken2"}
RULES = {
    # package: top-level imports it must never use
    "gm": {"drivers", "app", "server", "click", "fastapi", "sqlalchemy", "qtpy", *QT},
    "drivers": {"app", "server", "click", "fastapi", "sqlalchemy", "qtpy", *QT},
    "app": {"server", *QT},  # Qt only through qtpy
    "server": {"app", "qtpy", *QT},
}


def imports(package: str) -> Iterator[Tuple[Path, str]]:
    for path in sorted((REPO / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield path, node.module.split(".")[0]


@pytest.mark.parametrize("package", sorted(RULES))
def test_imports_point_one_way(package: str) -> None:
    banned: Set[str] = RULES[package]
    offenders = [f"{p.relative_to(REPO)} imports {name}" for p, name in imports(package) if name in banned]
    assert offenders == []


def test_every_module_uses_postponed_annotations() -> None:
    missing = []
    for package in ("gm", "drivers", "app", "server"):
        for path in (REPO / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if text.strip() and "def " in text and "from __future__ import annotations" not in text:
                missing.append(str(path.relative_to(REPO)))
    assert missing == []
