"""Crash-safe file updates: temp file + fsync + rename (+ directory fsync), under an inter-process lock.

A process killed at any instant leaves either the old or the new file, never a torn one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Iterator

from drivers.errors import DeviceError

LOCK_TIMEOUT = 30.0  # seconds another process may hold a keystore (one KDF run takes well under 1 s)
_TEMP_SUFFIX = ".tmp"


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":  # Windows cannot open a directory for fsync; MoveFileEx is durable there
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = 0o600, durable: bool = True) -> None:
    """Readers see the old file or the whole new one. ``durable=False`` skips the two fsyncs: for files
    whose loss in a power cut is acceptable (one may then leave it missing or empty)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}{_TEMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        _fsync_dir(path.parent)


def remove_stale_temp_files(path: Path) -> None:
    """Temp files of a killed writer; safe to drop because the rename never happened."""
    for stale in path.parent.glob(f".{path.name}.*{_TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            stale.unlink()


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Exclusive inter-process lock for ``path`` (a ``.lock`` file beside it)."""
    from filelock import FileLock, Timeout  # here: reading files (listing keystores, settings) needs no lock

    lock = FileLock(str(path.with_name(path.name + ".lock")))
    try:
        lock.acquire(timeout=LOCK_TIMEOUT)
    except Timeout:
        raise DeviceError(
            f"{path.name} is in use by another CertAssist process; close it and retry", "lock_timeout"
        ) from None
    try:
        yield
    finally:
        lock.release()
