"""SM3 hash and HMAC-SM3 (GB/T 32905), through the ``cryptography`` package."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes, hmac

DIGEST_SIZE = 32


def sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


class SM3:
    """Incremental SM3, for data that arrives in pieces (files, streams)."""

    digest_size = DIGEST_SIZE

    def __init__(self, data: bytes = b"") -> None:
        self._h = hashes.Hash(hashes.SM3())
        if data:
            self._h.update(data)

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def digest(self) -> bytes:
        return self._h.copy().finalize()

    def hexdigest(self) -> str:
        return self.digest().hex()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize()
