"""The build cache: where things live, input hashes, one builder at a time, atomic publication."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Dict, Iterable, Iterator, Union

CACHE_ENV = "CERTASSIST_BUILD_CACHE"
SKIP_DIRS = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


def cache_root() -> Path:
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "certassist-build")
    root.mkdir(parents=True, exist_ok=True)
    return root


_held = {"depth": 0}


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """One builder per machine at a time (several checkouts share the cache); re-entrant in a process."""
    if _held["depth"]:
        _held["depth"] += 1
        try:
            yield
        finally:
            _held["depth"] -= 1
        return
    with open(cache_root() / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _held["depth"] = 1
        try:
            yield
        finally:
            _held["depth"] = 0
            fcntl.flock(handle, fcntl.LOCK_UN)


class Hasher:
    """A SHA-256 over labelled parts: text, bytes, files and whole trees (relative names included)."""

    def __init__(self, label: str) -> None:
        self._hash = hashlib.sha256(label.encode())

    def text(self, value: str) -> Hasher:
        return self.data(value.encode())

    def data(self, value: bytes) -> Hasher:
        self._hash.update(len(value).to_bytes(8, "big"))
        self._hash.update(value)
        return self

    def file(self, path: Path, name: Union[str, None] = None) -> Hasher:
        self.text(name if name is not None else path.name)
        return self.data(path.read_bytes())

    def tree(self, root: Path) -> Hasher:
        for path in sorted(_files(root)):
            self.file(path, path.relative_to(root).as_posix())
        return self

    def hexdigest(self, length: int = 20) -> str:
        return self._hash.hexdigest()[:length]


def _files(root: Path) -> Iterable[Path]:
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in files:
            if not name.endswith((".pyc", ".pyo")):
                yield Path(directory) / name


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def publish(staging: Path, final: Path) -> Path:
    """Move a finished build into place (a half-built entry is never visible under its final name)."""
    if final.exists():
        remove(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, final)
    return final


def staging_dir(parent: Path, prefix: str) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{prefix}-", dir=parent))


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def prune(parent: Path, keep: int = 3) -> None:
    """Keep the newest ``keep`` entries of each kind (several checkouts share the cache) and no stale staging.

    An entry's kind is its name up to the first "-" (the target: ``win10-<key>``, ``win7-<key>``), so one
    target's builds never push out another's.
    """
    if not parent.is_dir():
        return
    entries = sorted(parent.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    kinds: Dict[str, int] = {}
    for entry in entries:
        if entry.name.startswith("."):
            continue
        kind = entry.name.split("-", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
        if kinds[kind] > keep:
            remove(entry)
    for entry in entries:
        if entry.name.startswith(".") and entry.name != ".lock" and entry.stat().st_mtime < _a_day_ago():
            remove(entry)


def _a_day_ago() -> float:
    import time

    return time.time() - 86400
