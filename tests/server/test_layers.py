"""The rooms of the issuing service (server/service.py names them), checked on the source: HTTP handlers never
reach into the database or the CA, use cases know nothing of HTTP, every module can be read in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, Tuple

SERVER = Path(__file__).resolve().parents[2] / "server"
MAX_LINES = 500
# What the HTTP layer must not import: it calls the use cases through IssuingService.
BELOW_THE_API = {"sqlalchemy", "server.db", "server.models", "server.ca", "server.security", "server.sealing"}
HTTP = {"fastapi", "starlette", "uvicorn", "server.api", "server.app"}
# Modules that are not use cases: the HTTP layer (the API's routers and the web portal's), the app factory and
# the CLI (which starts uvicorn).
HTTP_FOLDERS = {"api", "portal"}
HTTP_SIDE = {"app.py", "cli.py"}


def imported_modules(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def offenders(paths: List[Path], banned: set[str]) -> List[Tuple[str, str]]:
    return [
        (str(path.relative_to(SERVER)), name)
        for path in paths
        for name in imported_modules(path)
        if any(name == b or name.startswith(f"{b}.") for b in banned)
    ]


def test_http_handlers_reach_only_the_use_cases() -> None:
    handlers = [path for folder in sorted(HTTP_FOLDERS) for path in sorted((SERVER / folder).glob("*.py"))]
    assert len(handlers) > 8
    assert offenders(handlers, BELOW_THE_API) == []


def test_use_cases_know_nothing_of_http() -> None:
    use_cases = [
        path
        for path in sorted(SERVER.rglob("*.py"))
        if not HTTP_FOLDERS & set(path.relative_to(SERVER).parts) and path.name not in HTTP_SIDE
    ]
    assert len(use_cases) > 20
    assert offenders(use_cases, HTTP) == []


def test_every_module_reads_in_one_sitting() -> None:
    long = {
        str(path.relative_to(SERVER)): lines
        for path in SERVER.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
