"""GM/T cryptography for CertAssist: SM2 (native, through OpenSSL 3 libcrypto), SM3, SM4,
GM/T 0016 SKF and GM/T 0009 structures, and X.509 certificates, CSRs and CRLs signed with SM2-with-SM3.

Start with :mod:`gm.sm2` (keys, signatures, encryption), :mod:`gm.x509` (certificates) and
:mod:`gm.envelope` (escrowed encryption keys). This package imports no Qt, click or web framework.
"""

from __future__ import annotations

from gm.errors import (
    CertificateError,
    CryptoUnavailable,
    DecryptionError,
    EncodingError,
    GMError,
    InvalidKey,
    InvalidSignature,
    MalformedSignature,
    SelfTestFailed,
)

__all__ = [
    "CertificateError",
    "CryptoUnavailable",
    "DecryptionError",
    "EncodingError",
    "GMError",
    "InvalidKey",
    "InvalidSignature",
    "MalformedSignature",
    "SelfTestFailed",
]
