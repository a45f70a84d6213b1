"""SM4 (GB/T 32907) in the modes the product uses, through the ``cryptography`` package.

- ECB: only for GM/T 0016 key envelopes (one or two blocks of key material, no padding).
- CBC with PKCS#7 padding: interoperability with files other tools write.
- GCM: everything we seal ourselves (authenticated; 12-byte nonce, 16-byte tag appended).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gm.errors import DecryptionError

KEY_SIZE = 16
BLOCK_SIZE = 16
GCM_NONCE_SIZE = 12
GCM_TAG_SIZE = 16


def _check_key(key: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise ValueError(f"SM4 key must be {KEY_SIZE} bytes, got {len(key)}")


def ecb_encrypt(key: bytes, data: bytes) -> bytes:
    _check_key(key)
    if len(data) % BLOCK_SIZE:
        raise ValueError("SM4-ECB data must be a whole number of 16-byte blocks")
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305 - GM/T 0016 key envelope
    return enc.update(data) + enc.finalize()


def ecb_decrypt(key: bytes, data: bytes) -> bytes:
    _check_key(key)
    if len(data) % BLOCK_SIZE:
        raise DecryptionError("SM4-ECB ciphertext must be a whole number of 16-byte blocks")
    dec = Cipher(algorithms.SM4(key), modes.ECB()).decryptor()  # noqa: S305 - GM/T 0016 key envelope
    return dec.update(data) + dec.finalize()


def cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """SM4-CBC with PKCS#7 padding."""
    _check_key(key)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    enc = Cipher(algorithms.SM4(key), modes.CBC(iv)).encryptor()
    return enc.update(padded) + enc.finalize()


def cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    _check_key(key)
    if not data or len(data) % BLOCK_SIZE:
        raise DecryptionError("SM4-CBC ciphertext must be a non-empty multiple of 16 bytes")
    dec = Cipher(algorithms.SM4(key), modes.CBC(iv)).decryptor()
    padded = dec.update(data) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise DecryptionError("SM4-CBC padding is invalid: wrong key or altered data") from exc


def gcm_seal(key: bytes, plaintext: bytes, associated_data: bytes = b"", nonce: bytes | None = None) -> bytes:
    """nonce || ciphertext || tag. A fresh random nonce unless one is given (tests only)."""
    _check_key(key)
    nonce = os.urandom(GCM_NONCE_SIZE) if nonce is None else nonce
    if len(nonce) != GCM_NONCE_SIZE:
        raise ValueError("SM4-GCM nonce must be 12 bytes")
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(associated_data)
    ct = enc.update(plaintext) + enc.finalize()
    return nonce + ct + enc.tag


def gcm_open(key: bytes, sealed: bytes, associated_data: bytes = b"") -> bytes:
    _check_key(key)
    if len(sealed) < GCM_NONCE_SIZE + GCM_TAG_SIZE:
        raise DecryptionError("SM4-GCM data is too short to hold a nonce and a tag")
    nonce, body, tag = sealed[:GCM_NONCE_SIZE], sealed[GCM_NONCE_SIZE:-GCM_TAG_SIZE], sealed[-GCM_TAG_SIZE:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(associated_data)
    try:
        return dec.update(body) + dec.finalize()
    except InvalidTag as exc:
        raise DecryptionError("SM4-GCM authentication failed: wrong key or altered data") from exc
