"""The dependency rules of DESIGN.md §1, checked on the import statements of every module."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

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


MAX_LINES = 500
SIZE_CHECKED = ("app",)  # gm, drivers and server join as their restructuring lands (issue 12, item 4)
CYCLES_CHECKED = ("app", "drivers", "server")  # gm joins once gm.sm2 <-> gm.selftest is gone (issue 12.2)


@pytest.mark.parametrize("package", SIZE_CHECKED)
def test_no_module_is_over_500_lines(package: str) -> None:
    long = {
        str(path.relative_to(REPO)): count
        for path in sorted((REPO / package).rglob("*.py"))
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports_of(path: Path, known: Set[str]) -> Set[str]:
    """Modules of ``known`` that ``path`` imports anywhere: at load time, in functions, for type checking."""
    found: Set[str] = set()
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)

    def visit(nodes: list) -> None:  # type: ignore[type-arg]
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                    )
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)

    visit(list(ast.walk(ast.parse(path.read_text(encoding="utf-8")))))
    return {name for name in found if name in known}


@pytest.mark.parametrize("package", CYCLES_CHECKED)
def test_no_import_cycles(package: str) -> None:
    paths = {_module_name(p): p for p in sorted((REPO / package).rglob("*.py"))}
    graph = {name: _imports_of(path, set(paths)) - {name} for name, path in paths.items()}
    cycles = []
    state: Dict[str, int] = {}  # 1 = on the current path, 2 = done

    def walk(name: str, trail: List[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                walk(target, [*trail, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert cycles == []
