"""ctypes prototypes for the few libcrypto functions SM2 needs, declared once at load time."""

from __future__ import annotations

import ctypes
import threading
from ctypes import POINTER, c_char_p, c_int, c_size_t, c_ulong, c_void_p
from typing import Any, Dict, Optional, Tuple

from gm._native.locate import load_libcrypto
from gm.errors import CryptoUnavailable

# (restype, argtypes) for every function used; a missing symbol is a clear CryptoUnavailable.
_PROTOTYPES: Dict[str, Tuple[Any, Tuple[Any, ...]]] = {
    "OpenSSL_version": (c_char_p, (c_int,)),
    "ERR_get_error": (c_ulong, ()),
    "ERR_clear_error": (None, ()),
    "ERR_error_string_n": (None, (c_ulong, c_char_p, c_size_t)),
    "EVP_MD_fetch": (c_void_p, (c_void_p, c_char_p, c_char_p)),
    "EVP_MD_free": (None, (c_void_p,)),
    # PKCS#12 appendix B key derivation (the PFX MAC key; legacy PKCS#12 PBE), gm.pkcs12
    "PKCS12_key_gen_utf8": (c_int, (c_char_p, c_int, c_char_p, c_int, c_int, c_int, c_int, c_char_p, c_void_p)),
    "EVP_PKEY_free": (None, (c_void_p,)),
    "EVP_PKEY_CTX_new_from_name": (c_void_p, (c_void_p, c_char_p, c_char_p)),
    "EVP_PKEY_CTX_new_from_pkey": (c_void_p, (c_void_p, c_void_p, c_char_p)),
    "EVP_PKEY_CTX_free": (None, (c_void_p,)),
    "EVP_PKEY_CTX_set1_id": (c_int, (c_void_p, c_char_p, c_int)),
    "EVP_PKEY_keygen_init": (c_int, (c_void_p,)),
    "EVP_PKEY_generate": (c_int, (c_void_p, POINTER(c_void_p))),
    "EVP_PKEY_fromdata_init": (c_int, (c_void_p,)),
    "EVP_PKEY_fromdata": (c_int, (c_void_p, POINTER(c_void_p), c_int, c_void_p)),
    "EVP_PKEY_public_check": (c_int, (c_void_p,)),
    "EVP_PKEY_get_bn_param": (c_int, (c_void_p, c_char_p, POINTER(c_void_p))),
    "EVP_PKEY_get_octet_string_param": (
        c_int,
        (c_void_p, c_char_p, c_char_p, c_size_t, POINTER(c_size_t)),
    ),
    "EVP_PKEY_sign_init": (c_int, (c_void_p,)),
    "EVP_PKEY_sign": (c_int, (c_void_p, c_char_p, POINTER(c_size_t), c_char_p, c_size_t)),
    "EVP_PKEY_verify_init": (c_int, (c_void_p,)),
    "EVP_PKEY_verify": (c_int, (c_void_p, c_char_p, c_size_t, c_char_p, c_size_t)),
    "EVP_PKEY_encrypt_init": (c_int, (c_void_p,)),
    "EVP_PKEY_encrypt": (c_int, (c_void_p, c_char_p, POINTER(c_size_t), c_char_p, c_size_t)),
    "EVP_PKEY_decrypt_init": (c_int, (c_void_p,)),
    "EVP_PKEY_decrypt": (c_int, (c_void_p, c_char_p, POINTER(c_size_t), c_char_p, c_size_t)),
    "EVP_MD_CTX_new": (c_void_p, ()),
    "EVP_MD_CTX_free": (None, (c_void_p,)),
    "EVP_DigestSignInit": (c_int, (c_void_p, POINTER(c_void_p), c_void_p, c_void_p, c_void_p)),
    "EVP_DigestSign": (c_int, (c_void_p, c_char_p, POINTER(c_size_t), c_char_p, c_size_t)),
    "EVP_DigestVerifyInit": (c_int, (c_void_p, POINTER(c_void_p), c_void_p, c_void_p, c_void_p)),
    "EVP_DigestVerify": (c_int, (c_void_p, c_char_p, c_size_t, c_char_p, c_size_t)),
    "OSSL_PARAM_BLD_new": (c_void_p, ()),
    "OSSL_PARAM_BLD_free": (None, (c_void_p,)),
    "OSSL_PARAM_BLD_push_utf8_string": (c_int, (c_void_p, c_char_p, c_char_p, c_size_t)),
    "OSSL_PARAM_BLD_push_BN": (c_int, (c_void_p, c_char_p, c_void_p)),
    "OSSL_PARAM_BLD_push_octet_string": (c_int, (c_void_p, c_char_p, c_char_p, c_size_t)),
    "OSSL_PARAM_BLD_to_param": (c_void_p, (c_void_p,)),
    "OSSL_PARAM_free": (None, (c_void_p,)),
    "BN_bin2bn": (c_void_p, (c_char_p, c_int, c_void_p)),
    "BN_bn2binpad": (c_int, (c_void_p, c_char_p, c_int)),
    "BN_clear_free": (None, (c_void_p,)),
    "BN_CTX_new": (c_void_p, ()),
    "BN_CTX_free": (None, (c_void_p,)),
    # Legacy EC point arithmetic, used only to derive the public point of an imported private key
    # (OpenSSL 3.0's EVP_PKEY_fromdata does not compute it).
    "EC_GROUP_new_by_curve_name": (c_void_p, (c_int,)),
    "EC_GROUP_free": (None, (c_void_p,)),
    "EC_POINT_new": (c_void_p, (c_void_p,)),
    "EC_POINT_free": (None, (c_void_p,)),
    "EC_POINT_mul": (c_int, (c_void_p, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p)),
    "EC_POINT_point2oct": (c_size_t, (c_void_p, c_void_p, c_int, c_char_p, c_size_t, c_void_p)),
}

NID_SM2 = 1172
POINT_CONVERSION_UNCOMPRESSED = 4
# EVP_PKEY_fromdata selections (openssl/evp.h, openssl/core_dispatch.h)
EVP_PKEY_PUBLIC_KEY = 0x86
EVP_PKEY_KEYPAIR = 0x87


class LibCrypto:
    """The loaded library with typed functions as attributes (``lib.EVP_PKEY_sign(...)``)."""

    def __init__(self, cdll: ctypes.CDLL) -> None:
        self.cdll = cdll
        missing = []
        for name, (restype, argtypes) in _PROTOTYPES.items():
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                missing.append(name)
                continue
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)
        if missing:
            raise CryptoUnavailable(
                f"libcrypto at {cdll._name} lacks {', '.join(missing)}; OpenSSL 3.0 or newer is required"
            )
        self.version_text: str = self.OpenSSL_version(0).decode("ascii", "replace")
        # Fetched once: passing the legacy EVP_sm3() makes every sign/verify init fetch it again.
        self.sm3_md: int = self.EVP_MD_fetch(None, b"SM3", None) or 0
        if not self.sm3_md:
            raise CryptoUnavailable(f"libcrypto at {cdll._name} has no SM3 ({self.take_error()})")

    def __getattr__(self, name: str) -> Any:  # pragma: no cover - only reached on typos
        raise AttributeError(name)

    def take_error(self) -> str:
        """Drain the thread's error queue and return its last entry as text (never key material)."""
        last = 0
        while True:
            code = self.ERR_get_error()
            if not code:
                break
            last = code
        if not last:
            return "no detail from libcrypto"
        buf = ctypes.create_string_buffer(256)
        self.ERR_error_string_n(last, buf, len(buf))
        return buf.value.decode("ascii", "replace")


_lock = threading.Lock()
_instance: Optional[LibCrypto] = None


def libcrypto() -> LibCrypto:
    """The process-wide library handle, loaded on first use."""
    global _instance  # noqa: PLW0603 - one handle per process is the point
    if _instance is None:
        with _lock:
            if _instance is None:
                _instance = LibCrypto(load_libcrypto())
    return _instance
