"""The per-keystore record that binds a soft keystore to this computer and user.

Kept in the OS keyring (Windows Credential Manager, macOS Keychain, Secret Service). Where no keyring
backend exists (a headless Linux box), it falls back to a 0600 file outside the keystore folder and
says so in diagnostics: copying the keystore folder alone still yields nothing.

A record holds the device secret (mixed into the PIN's key and keying the file's MAC), the ``seq`` of
the last keystore write, and the PIN and admin tries spent. None of these can be restored by restoring
or editing the keystore file. Records of version 1 (written before the counters moved here) are the
bare hex secret; drivers.soft.keystore upgrades them on first open.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets as random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, Optional

import keyring
import keyring.errors

from drivers.errors import DeviceError, KeystoreCorrupted
from drivers.soft.storage import atomic_write, locked

SERVICE = "CertAssist soft keystore"
SECRET_BYTES = 32
RECORD_VERSION = 2


def os_keyring() -> Optional[Any]:
    """The keyring backend to use, or None when there is no real one.

    An automatically chosen chain never includes keyrings.alt backends: they are plain or prompting
    files, not an OS keyring (the encrypted one would even block on a password prompt). A backend set
    explicitly (PYTHON_KEYRING_BACKEND, keyring.set_keyring) is used as it is.
    """
    backend = keyring.get_keyring()
    candidates = list(getattr(backend, "backends", [backend])) if _is_chainer(backend) else [backend]
    for candidate in candidates:
        module = type(candidate).__module__
        if module.startswith("keyring.backends.fail") or getattr(candidate, "priority", 0) <= 0:
            continue
        if _is_chainer(backend) and module.startswith("keyrings.alt"):
            continue
        return candidate
    return None


def _is_chainer(backend: Any) -> bool:
    return type(backend).__module__ == "keyring.backends.chainer"


@dataclass(frozen=True)
class KeystoreRecord:
    secret: bytes
    seq: int = 0  # of the last keystore write this record has seen
    pin_failures: int = 0  # tries spent since the last right PIN
    admin_failures: int = 0
    legacy: bool = False  # a version 1 record: the bare secret, no counters yet

    def failures(self, admin: bool) -> int:
        return self.admin_failures if admin else self.pin_failures

    def with_failures(self, admin: bool, count: int) -> KeystoreRecord:
        return replace(self, admin_failures=count) if admin else replace(self, pin_failures=count)

    def to_text(self) -> str:
        return json.dumps(
            {
                "v": RECORD_VERSION,
                "secret": self.secret.hex(),
                "seq": self.seq,
                "pin_failures": self.pin_failures,
                "admin_failures": self.admin_failures,
            },
            sort_keys=True,
        )

    @classmethod
    def from_text(cls, text: str) -> KeystoreRecord:
        try:
            if not text.lstrip().startswith("{"):
                return cls(bytes.fromhex(text), legacy=True)
            raw = json.loads(text)
            if raw.get("v") != RECORD_VERSION:
                raise ValueError(f"record version {raw.get('v')!r}")
            return cls(
                bytes.fromhex(raw["secret"]), int(raw["seq"]), int(raw["pin_failures"]), int(raw["admin_failures"])
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeystoreCorrupted(f"the keyring entry of a soft keystore is unreadable ({exc})") from exc


class DeviceSecrets:
    """Keystore records by keystore id, in the OS keyring or the fallback file.

    Every write holds a per-user lock (beside the fallback file): some keyring backends rewrite one file
    for all entries, and two processes updating the records of two keystores must not lose either.
    """

    def __init__(self, fallback_file: Path) -> None:
        self.fallback_file = fallback_file

    @property
    def backend_name(self) -> str:
        backend = os_keyring()
        if backend is not None:
            return f"OS keyring ({type(backend).__module__}.{type(backend).__name__})"
        return f"file {self.fallback_file} (no OS keyring available)"

    def _lock(self) -> Any:
        self.fallback_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return locked(self.fallback_file)

    def _keyring_text(self, backend: Any, keystore_id: str) -> Optional[str]:
        try:
            value: Optional[str] = backend.get_password(SERVICE, keystore_id)
        except keyring.errors.KeyringError:
            return None
        return value

    def record(self, keystore_id: str) -> Optional[KeystoreRecord]:
        backend = os_keyring()
        text = self._keyring_text(backend, keystore_id) if backend is not None else None
        if text is None:
            text = self._file_entries().get(keystore_id)
        return None if text is None else KeystoreRecord.from_text(text)

    def create(self, keystore_id: str) -> KeystoreRecord:
        """A fresh record with a new random secret, stored before the keystore file that needs it."""
        record = KeystoreRecord(random.token_bytes(SECRET_BYTES))
        backend = os_keyring()
        with self._lock():
            if backend is not None:
                try:
                    backend.set_password(SERVICE, keystore_id, record.to_text())
                    return record
                except keyring.errors.KeyringError:
                    pass  # e.g. a locked Secret Service collection: fall back rather than fail issuance
            self._write_entry(keystore_id, record.to_text())
        return record

    def put(self, keystore_id: str, record: KeystoreRecord) -> None:
        """Replace the record where it is kept. Raises instead of going on unrecorded: a try that is not
        recorded must not be checked."""
        backend = os_keyring()
        with self._lock():
            if backend is not None and self._keyring_text(backend, keystore_id) is not None:
                try:
                    backend.set_password(SERVICE, keystore_id, record.to_text())
                except keyring.errors.KeyringError as exc:
                    raise DeviceError(
                        f"the OS keyring refused to update the soft keystore's record ({exc}); unlock the "
                        "keyring and retry",
                        "keyring_write",
                    ) from exc
            elif keystore_id in self._file_entries():
                self._write_entry(keystore_id, record.to_text())
            else:
                raise KeystoreCorrupted("the keyring entry of this soft keystore disappeared")

    def delete(self, keystore_id: str) -> None:
        backend = os_keyring()
        with self._lock():
            if backend is not None:
                with contextlib.suppress(keyring.errors.KeyringError):
                    backend.delete_password(SERVICE, keystore_id)
            entries = self._file_entries()
            if entries.pop(keystore_id, None) is not None:
                self._write_file(entries)

    def _file_entries(self) -> Dict[str, str]:
        try:
            raw = json.loads(self.fallback_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise KeystoreCorrupted(f"device secret file {self.fallback_file} is unreadable: {exc}") from exc
        return {str(k): str(v) for k, v in raw.items()}

    def _write_entry(self, keystore_id: str, text: str) -> None:
        entries = self._file_entries()
        entries[keystore_id] = text
        self._write_file(entries)

    def _write_file(self, entries: Dict[str, str]) -> None:
        self.fallback_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = json.dumps(entries, indent=1).encode()
        atomic_write(self.fallback_file, data, mode=0o600)
        os.chmod(self.fallback_file, 0o600)
