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
from typing import Dict, Optional

import keyring
import keyring.errors

from drivers.errors import KeystoreCorrupted
from drivers.soft.storage import atomic_write, locked

SERVICE = "CertAssist soft keystore"
SECRET_BYTES = 32


class DeviceSecrets:
    def __init__(self, fallback_file: Path) -> None:
        self.fallback_file = fallback_file

    @property
    def backend_name(self) -> str:
        backend = keyring.get_keyring()
        if self._keyring_usable():
            return f"OS keyring ({type(backend).__module__}.{type(backend).__name__})"
        return f"file {self.fallback_file} (no OS keyring available)"

    @staticmethod
    def _keyring_usable() -> bool:
        backend = keyring.get_keyring()
        return getattr(backend, "priority", 0) > 0 and type(backend).__module__ != "keyring.backends.fail"

    def get(self, keystore_id: str) -> Optional[bytes]:
        if self._keyring_usable():
            try:
                value = keyring.get_password(SERVICE, keystore_id)
            except keyring.errors.KeyringError:
                value = None
            if value is not None:
                return bytes.fromhex(value)
        return self._file_entries().get(keystore_id)

    def create(self, keystore_id: str) -> bytes:
        secret = random.token_bytes(SECRET_BYTES)
        if self._keyring_usable():
            try:
                keyring.set_password(SERVICE, keystore_id, secret.hex())
                return secret
            except keyring.errors.KeyringError:
                pass  # e.g. a locked Secret Service collection: fall back rather than fail issuance
        with locked(self.fallback_file):
            entries = self._file_entries()
            entries[keystore_id] = secret
            self._write_file(entries)
        return secret

    def delete(self, keystore_id: str) -> None:
        if self._keyring_usable():
            with contextlib.suppress(keyring.errors.KeyringError):
                keyring.delete_password(SERVICE, keystore_id)
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
