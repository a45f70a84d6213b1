"""Password stretching (PBKDF2-HMAC, scrypt) that leaves the GIL to other threads while it runs.

The derivations are slow on purpose (a PIN's scrypt, a backup password's 600,000 PBKDF2 rounds) and run on the
tray's workers. `cryptography`'s wheels for Python 3.8 (the Windows 7 build) keep the GIL for the whole
derivation: measured on this machine (cryptography 47, PySide2), one backup's PBKDF2 on a worker froze the
GUI thread for 230 ms and a PIN check's scrypt for its whole length. hashlib runs the same OpenSSL functions with
the GIL released; `cryptography` remains the fallback for a digest the interpreter's OpenSSL lacks.
"""

from __future__ import annotations

import hashlib
from typing import Dict

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

_FALLBACK: Dict[str, hashes.HashAlgorithm] = {
    "sha1": hashes.SHA1(),  # noqa: S303 - reading files other tools wrote
    "sha224": hashes.SHA224(),
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
    "sm3": hashes.SM3(),
}


def pbkdf2_hmac(digest: str, password: bytes, salt: bytes, iterations: int, length: int) -> bytes:
    """PBKDF2 (RFC 8018) with HMAC over ``digest`` (a hashlib name: ``sha256``, ``sm3`` ...)."""
    try:
        return hashlib.pbkdf2_hmac(digest, password, salt, iterations, length)
    except ValueError:
        if digest not in _FALLBACK or iterations < 1 or length < 1:
            raise
        return PBKDF2HMAC(_FALLBACK[digest], length, salt, iterations).derive(password)  # no such digest in hashlib


def scrypt(password: bytes, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    """scrypt (RFC 7914); the memory it needs (128·r·(n + p + 2) bytes) is allowed, no more."""
    if not hasattr(hashlib, "scrypt"):  # an interpreter built without OpenSSL's scrypt
        return Scrypt(salt=salt, length=length, n=n, r=r, p=p).derive(password)
    needed = 128 * r * (n + p + 2)
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=needed + (1 << 20), dklen=length)
