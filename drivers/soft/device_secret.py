"""The per-user device secret that binds a soft keystore to this computer and user.

Kept in the OS keyring (Windows Credential Manager, macOS Keychain, Secret Service). Where no keyring
backend exists (a headless Linux box), it falls back to a 0600 file outside the keystore folder and
says so in diagnostics: copying the keystore folder alone still yields nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets as random
from pathlib import Path
from typing import Any, Dict, Optional

import keyring
import keyring.errors

from drivers.errors import KeystoreCorrupted
from drivers.soft.storage import atomic_write, locked

SERVICE = "CertAssist soft keystore"
SECRET_BYTES = 32


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


class DeviceSecrets:
    def __init__(self, fallback_file: Path) -> None:
        self.fallback_file = fallback_file

    @property
    def backend_name(self) -> str:
        backend = os_keyring()
        if backend is not None:
            return f"OS keyring ({type(backend).__module__}.{type(backend).__name__})"
        return f"file {self.fallback_file} (no OS keyring available)"

    def get(self, keystore_id: str) -> Optional[bytes]:
        backend = os_keyring()
        if backend is not None:
            try:
                value = backend.get_password(SERVICE, keystore_id)
            except keyring.errors.KeyringError:
                value = None
            if value is not None:
                return bytes.fromhex(value)
        return self._file_entries().get(keystore_id)

    def create(self, keystore_id: str) -> bytes:
        secret = random.token_bytes(SECRET_BYTES)
        backend = os_keyring()
        if backend is not None:
            try:
                backend.set_password(SERVICE, keystore_id, secret.hex())
                return secret
            except keyring.errors.KeyringError:
                pass  # e.g. a locked Secret Service collection: fall back rather than fail issuance
        with locked(self.fallback_file):
            entries = self._file_entries()
            entries[keystore_id] = secret
            self._write_file(entries)
        return secret

    def delete(self, keystore_id: str) -> None:
        backend = os_keyring()
        if backend is not None:
            with contextlib.suppress(keyring.errors.KeyringError):
                backend.delete_password(SERVICE, keystore_id)
        if self.fallback_file.exists():
            with locked(self.fallback_file):
                entries = self._file_entries()
                if entries.pop(keystore_id, None) is not None:
                    self._write_file(entries)

    def _file_entries(self) -> Dict[str, bytes]:
        try:
            raw = json.loads(self.fallback_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise KeystoreCorrupted(f"device secret file {self.fallback_file} is unreadable: {exc}") from exc
        return {k: bytes.fromhex(v) for k, v in raw.items()}

    def _write_file(self, entries: Dict[str, bytes]) -> None:
        self.fallback_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = json.dumps({k: v.hex() for k, v in entries.items()}, indent=1).encode()
        atomic_write(self.fallback_file, data, mode=0o600)
        os.chmod(self.fallback_file, 0o600)
