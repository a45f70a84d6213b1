"""Server secrets at rest: CA keys, escrowed encryption keys and admin credentials are sealed with SM4-GCM
under a 128-bit server key (``master.key`` in the data dir, 0600, or CERTASSIST_SERVER_MASTER_KEY)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from drivers.soft.storage import atomic_write
from gm import sm4

ENV_KEY = "CERTASSIST_SERVER_MASTER_KEY"


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 16:
            raise ValueError("the server key must be 16 bytes (32 hex digits)")
        self._key = key

    @classmethod
    def load_or_create(cls, data_dir: Path) -> Sealer:
        from_env = os.environ.get(ENV_KEY)
        if from_env:
            return cls(bytes.fromhex(from_env))
        path = data_dir / "master.key"
        if path.exists():
            return cls(bytes.fromhex(path.read_text().strip()))
        key = secrets.token_bytes(16)
        atomic_write(path, key.hex().encode(), mode=0o600)
        return cls(key)

    def seal(self, data: bytes, context: str) -> bytes:
        return sm4.gcm_seal(self._key, data, context.encode())

    def open(self, blob: bytes, context: str) -> bytes:
        return sm4.gcm_open(self._key, blob, context.encode())

    def derive(self, label: str) -> bytes:
        """A purpose-bound sub-key (e.g. the pepper for hashing unlock codes)."""
        from gm.sm3 import hmac_sm3

        return hmac_sm3(self._key, f"certassist/{label}".encode())

    def __repr__(self) -> str:
        return "Sealer(<key hidden>)"
