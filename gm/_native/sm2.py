"""SM2 on EVP_PKEY handles. Raw primitives: no self-test, no input policy, bool results.

Use :mod:`gm.sm2` instead. Every function releases the GIL inside libcrypto (ctypes does), so
callers may run them from worker threads in parallel.
"""

from __future__ import annotations

import ctypes
import weakref
from ctypes import byref, c_size_t, c_void_p

from gm._native.libcrypto import (
    EVP_PKEY_KEYPAIR,
    EVP_PKEY_PUBLIC_KEY,
    NID_SM2,
    POINT_CONVERSION_UNCOMPRESSED,
    LibCrypto,
    libcrypto,
)
from gm.errors import CryptoUnavailable, DecryptionError, GMError, InvalidKey

_SM2 = b"SM2"
_MAX_DER_SIGNATURE = 80  # SEQUENCE of two 33-byte INTEGERs is at most 72 bytes


class PKeyHandle:
    """Owns one ``EVP_PKEY*`` and frees it when the handle is collected."""

    __slots__ = ("__weakref__", "ptr")

    def __init__(self, ptr: int) -> None:
        self.ptr = ptr
        weakref.finalize(self, libcrypto().EVP_PKEY_free, ptr)


def _fail(lib: LibCrypto, what: str, exc: type[GMError] = GMError) -> GMError:
    return exc(f"{what} failed: {lib.take_error()}")


def generate() -> PKeyHandle:
    lib = libcrypto()
    ctx = lib.EVP_PKEY_CTX_new_from_name(None, _SM2, None)
    if not ctx:
        raise _fail(lib, "SM2 key context (is SM2 disabled in this OpenSSL build?)", CryptoUnavailable)
    try:
        pkey = c_void_p()
        if lib.EVP_PKEY_keygen_init(ctx) <= 0 or lib.EVP_PKEY_generate(ctx, byref(pkey)) <= 0:
            raise _fail(lib, "SM2 key generation", CryptoUnavailable)
        return PKeyHandle(pkey.value or 0)
    finally:
        lib.EVP_PKEY_CTX_free(ctx)


def public_point_of(scalar: bytes) -> bytes:
    """d·G as an uncompressed point (65 bytes)."""
    lib = libcrypto()
    group = lib.EC_GROUP_new_by_curve_name(NID_SM2)
    point = lib.EC_POINT_new(group) if group else None
    bn = lib.BN_bin2bn(scalar, len(scalar), None)
    bnctx = lib.BN_CTX_new()
    try:
        if not (group and point and bn and bnctx):
            raise _fail(lib, "SM2 point set-up", CryptoUnavailable)
        if lib.EC_POINT_mul(group, point, bn, None, None, bnctx) <= 0:
            raise _fail(lib, "SM2 public point derivation", InvalidKey)
        out = ctypes.create_string_buffer(65)
        n = lib.EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, out, 65, bnctx)
        if n != 65:
            raise _fail(lib, "SM2 point encoding", InvalidKey)
        return out.raw
    finally:
        lib.BN_CTX_free(bnctx)
        lib.BN_clear_free(bn)
        lib.EC_POINT_free(point)
        lib.EC_GROUP_free(group)


def _from_params(selection: int, point: bytes, scalar: bytes | None) -> PKeyHandle:
    lib = libcrypto()
    bld = lib.OSSL_PARAM_BLD_new()
    bn = lib.BN_bin2bn(scalar, len(scalar), None) if scalar is not None else None
    params = None
    ctx = None
    try:
        ok = bld and lib.OSSL_PARAM_BLD_push_utf8_string(bld, b"group", _SM2, 0) > 0
        ok = ok and lib.OSSL_PARAM_BLD_push_octet_string(bld, b"pub", point, len(point)) > 0
        if scalar is not None:
            ok = ok and bn and lib.OSSL_PARAM_BLD_push_BN(bld, b"priv", bn) > 0
        params = lib.OSSL_PARAM_BLD_to_param(bld) if ok else None
        ctx = lib.EVP_PKEY_CTX_new_from_name(None, _SM2, None)
        if not (params and ctx):
            raise _fail(lib, "SM2 key import set-up", CryptoUnavailable)
        pkey = c_void_p()
        if lib.EVP_PKEY_fromdata_init(ctx) <= 0 or lib.EVP_PKEY_fromdata(ctx, byref(pkey), selection, params) <= 0:
            raise _fail(lib, "SM2 key import", InvalidKey)
        handle = PKeyHandle(pkey.value or 0)
    finally:
        lib.EVP_PKEY_CTX_free(ctx)
        lib.OSSL_PARAM_free(params)
        lib.BN_clear_free(bn)
        lib.OSSL_PARAM_BLD_free(bld)
    _public_check(handle)
    return handle


def _public_check(handle: PKeyHandle) -> None:
    lib = libcrypto()
    ctx = lib.EVP_PKEY_CTX_new_from_pkey(None, handle.ptr, None)
    try:
        if not ctx or lib.EVP_PKEY_public_check(ctx) != 1:
            raise _fail(lib, "SM2 public key check", InvalidKey)
    finally:
        lib.EVP_PKEY_CTX_free(ctx)


def from_public(point: bytes) -> PKeyHandle:
    return _from_params(EVP_PKEY_PUBLIC_KEY, point, None)


def from_private(scalar: bytes) -> PKeyHandle:
    return _from_params(EVP_PKEY_KEYPAIR, public_point_of(scalar), scalar)


def private_scalar(handle: PKeyHandle) -> bytes:
    lib = libcrypto()
    bn = c_void_p()
    if lib.EVP_PKEY_get_bn_param(handle.ptr, b"priv", byref(bn)) <= 0:
        raise _fail(lib, "SM2 private key export", InvalidKey)
    try:
        out = ctypes.create_string_buffer(32)
        if lib.BN_bn2binpad(bn, out, 32) != 32:
            raise _fail(lib, "SM2 private key export", InvalidKey)
        return out.raw
    finally:
        lib.BN_clear_free(bn)


def public_point(handle: PKeyHandle) -> bytes:
    lib = libcrypto()
    out = ctypes.create_string_buffer(65)
    n = c_size_t(0)
    if lib.EVP_PKEY_get_octet_string_param(handle.ptr, b"pub", out, 65, byref(n)) <= 0 or n.value != 65:
        raise _fail(lib, "SM2 public key export", InvalidKey)
    return out.raw


def sign_message(handle: PKeyHandle, message: bytes, signer_id: bytes) -> bytes:
    """DER signature over SM3(Z(signer_id) || message)."""
    lib = libcrypto()
    mctx = lib.EVP_MD_CTX_new()
    try:
        pctx = c_void_p()
        if lib.EVP_DigestSignInit(mctx, byref(pctx), lib.sm3_md, None, handle.ptr) <= 0:
            raise _fail(lib, "SM2 sign init")
        # OpenSSL 3.0 defaults to an empty ID; it must be set on the returned context (DESIGN §2).
        if lib.EVP_PKEY_CTX_set1_id(pctx, signer_id, len(signer_id)) <= 0:
            raise _fail(lib, "SM2 signer ID")
        sig = ctypes.create_string_buffer(_MAX_DER_SIGNATURE)
        siglen = c_size_t(_MAX_DER_SIGNATURE)
        if lib.EVP_DigestSign(mctx, sig, byref(siglen), message, len(message)) <= 0:
            raise _fail(lib, "SM2 sign")
        return sig.raw[: siglen.value]
    finally:
        lib.EVP_MD_CTX_free(mctx)


def verify_message(handle: PKeyHandle, message: bytes, der_signature: bytes, signer_id: bytes) -> bool:
    lib = libcrypto()
    mctx = lib.EVP_MD_CTX_new()
    try:
        pctx = c_void_p()
        if lib.EVP_DigestVerifyInit(mctx, byref(pctx), lib.sm3_md, None, handle.ptr) <= 0:
            raise _fail(lib, "SM2 verify init")
        if lib.EVP_PKEY_CTX_set1_id(pctx, signer_id, len(signer_id)) <= 0:
            raise _fail(lib, "SM2 signer ID")
        rc = lib.EVP_DigestVerify(mctx, der_signature, len(der_signature), message, len(message))
        lib.ERR_clear_error()
        return bool(rc == 1)
    finally:
        lib.EVP_MD_CTX_free(mctx)


def _pkey_op(handle: PKeyHandle, init_name: str, op_name: str, data: bytes, out_size: int) -> bytes | None:
    lib = libcrypto()
    ctx = lib.EVP_PKEY_CTX_new_from_pkey(None, handle.ptr, None)
    try:
        if not ctx or getattr(lib, init_name)(ctx) <= 0:
            raise _fail(lib, f"SM2 {op_name} init")
        out = ctypes.create_string_buffer(out_size)
        outlen = c_size_t(out_size)
        if getattr(lib, op_name)(ctx, out, byref(outlen), data, len(data)) <= 0:
            lib.ERR_clear_error()
            return None
        return out.raw[: outlen.value]
    finally:
        lib.EVP_PKEY_CTX_free(ctx)


def sign_digest(handle: PKeyHandle, digest: bytes) -> bytes:
    """DER signature over a precomputed e = SM3(Z || M), as SKF tokens take it."""
    sig = _pkey_op(handle, "EVP_PKEY_sign_init", "EVP_PKEY_sign", digest, _MAX_DER_SIGNATURE)
    if sig is None:
        raise GMError("SM2 digest sign failed")
    return sig


def verify_digest(handle: PKeyHandle, digest: bytes, der_signature: bytes) -> bool:
    lib = libcrypto()
    ctx = lib.EVP_PKEY_CTX_new_from_pkey(None, handle.ptr, None)
    try:
        if not ctx or lib.EVP_PKEY_verify_init(ctx) <= 0:
            raise _fail(lib, "SM2 verify init")
        rc = lib.EVP_PKEY_verify(ctx, der_signature, len(der_signature), digest, len(digest))
        lib.ERR_clear_error()
        return bool(rc == 1)
    finally:
        lib.EVP_PKEY_CTX_free(ctx)


def encrypt(handle: PKeyHandle, plaintext: bytes) -> bytes:
    """GM/T 0009 DER ciphertext (SEQUENCE x, y, C3, C2) with SM3 as the KDF/MAC hash."""
    # DER overhead: two 33-byte INTEGERs, 32-byte hash, headers; 128 is a safe upper bound.
    ct = _pkey_op(handle, "EVP_PKEY_encrypt_init", "EVP_PKEY_encrypt", plaintext, len(plaintext) + 128)
    if ct is None:
        raise GMError("SM2 encryption failed")
    return ct


def decrypt(handle: PKeyHandle, der_ciphertext: bytes) -> bytes:
    pt = _pkey_op(handle, "EVP_PKEY_decrypt_init", "EVP_PKEY_decrypt", der_ciphertext, len(der_ciphertext))
    if pt is None:
        raise DecryptionError("SM2 decryption failed: the ciphertext was altered or is for another key")
    return pt
