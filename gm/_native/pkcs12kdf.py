"""The PKCS#12 (RFC 7292 appendix B) key derivation through libcrypto's ``PKCS12_key_gen_utf8``.

`cryptography` has no public API for it; it derives the key of a PFX's MAC (and of the legacy PKCS#12
password-based ciphers). Use :mod:`gm.pkcs12` instead of calling this directly.
"""

from __future__ import annotations

import ctypes

from gm._native.libcrypto import libcrypto
from gm.errors import CryptoUnavailable, GMError

KEY_ID = 1
IV_ID = 2
MAC_ID = 3


def derive(password: str, salt: bytes, purpose: int, iterations: int, length: int, digest: str) -> bytes:
    """``length`` bytes for ``purpose`` (KEY_ID, IV_ID, MAC_ID) from the password (UTF-8, turned into
    BMPString by libcrypto) with the named digest (OpenSSL name: ``SM3``, ``SHA256``, ``SHA1`` ...)."""
    lib = libcrypto()
    md = lib.EVP_MD_fetch(None, digest.encode("ascii"), None)
    if not md:
        raise CryptoUnavailable(f"libcrypto has no {digest} digest ({lib.take_error()})")
    try:
        secret = password.encode("utf-8")
        out = ctypes.create_string_buffer(length)
        ok = lib.PKCS12_key_gen_utf8(secret, len(secret), salt, len(salt), purpose, iterations, length, out, md)
        if ok != 1:
            raise GMError(f"PKCS#12 key derivation failed: {lib.take_error()}")
        return out.raw
    finally:
        lib.EVP_MD_free(md)
