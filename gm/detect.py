"""Tell what a PEM or DER file holds (certificate, CSR, CRL, private or public key) before parsing it.

PEM says it in its label. DER is told from its outline (the tags of the first few elements, read from
headers only), so a large file is parsed once, by the one parser it needs, instead of by each parser in
turn. Whatever the outline says, that parser still checks everything and raises the typed error.
"""

from __future__ import annotations

import enum
from typing import Union

from gm import asn1
from gm.errors import EncodingError
from gm.pem import label_of
from gm.sm2 import SM2PrivateKey, SM2PublicKey
from gm.x509 import CRL, Certificate, CertificationRequest


class Kind(str, enum.Enum):
    CERTIFICATE = "certificate"
    CSR = "csr"
    CRL = "crl"
    PRIVATE_KEY = "private_key"
    PUBLIC_KEY = "public_key"


PEM_LABELS = {
    "CERTIFICATE": Kind.CERTIFICATE,
    "X509 CERTIFICATE": Kind.CERTIFICATE,
    "CERTIFICATE REQUEST": Kind.CSR,
    "NEW CERTIFICATE REQUEST": Kind.CSR,
    "X509 CRL": Kind.CRL,
    "PRIVATE KEY": Kind.PRIVATE_KEY,
    "EC PRIVATE KEY": Kind.PRIVATE_KEY,
    "SM2 PRIVATE KEY": Kind.PRIVATE_KEY,
    "ENCRYPTED PRIVATE KEY": Kind.PRIVATE_KEY,
    "PUBLIC KEY": Kind.PUBLIC_KEY,
}

_SEQUENCE, _INTEGER, _BIT_STRING, _OCTET_STRING = 0x30, 0x02, 0x03, 0x04
_UTC_TIME, _GENERALIZED_TIME, _VERSION_TAG = 0x17, 0x18, 0xA0
_NOT_KNOWN = "not a certificate, CSR, CRL or SM2 key (PEM or DER)"


def detect(data: bytes) -> Kind:
    """The kind of object in ``data``; EncodingError when it is none of them."""
    label = label_of(data)
    if label is not None:
        kind = PEM_LABELS.get(label)
        if kind is None:
            raise EncodingError(f"PEM {label} is {_NOT_KNOWN}")
        return kind
    if len(data) in (64, 65) and not data.startswith(b"\x30"):
        return Kind.PUBLIC_KEY  # a raw point, 04||x||y or x||y
    try:
        return _detect_der(bytes(data))
    except ValueError:
        raise EncodingError(_NOT_KNOWN) from None


def _detect_der(der: bytes) -> Kind:
    top = asn1.outline(der, 4)
    tags = [tag for tag, _start, _end in top]
    if tags[:3] == [_SEQUENCE, _SEQUENCE, _BIT_STRING] and len(tags) == 3:
        _tag, start, end = top[0]
        return _signed_kind(der, start, end)
    if tags[:3] == [_INTEGER, _SEQUENCE, _OCTET_STRING]:
        return Kind.PRIVATE_KEY  # PKCS#8
    if tags[:2] == [_INTEGER, _OCTET_STRING]:
        return Kind.PRIVATE_KEY  # SEC1
    if tags == [_SEQUENCE, _BIT_STRING]:
        return Kind.PUBLIC_KEY
    raise ValueError("unknown outline")


def _signed_kind(der: bytes, start: int, end: int) -> Kind:
    """Certificate, CSR or CRL, from the elements of the signed part (tbsCertificate / tbsCertList / info)."""
    tags = [tag for tag, _s, _e in asn1.inner_outline(der, start, end, 7)]
    if tags and tags[0] == _VERSION_TAG:
        return Kind.CERTIFICATE  # v3 (or v2) certificate
    times = (_UTC_TIME, _GENERALIZED_TIME)
    if (len(tags) > 3 and tags[0] == _INTEGER and tags[3] in times) or (len(tags) > 2 and tags[2] in times):
        return Kind.CRL  # [version,] signature, issuer, thisUpdate
    if 3 <= len(tags) <= 4 and tags[:3] == [_INTEGER, _SEQUENCE, _SEQUENCE] and tags[3:] in ([], [_VERSION_TAG]):
        return Kind.CSR  # version, subject, subjectPKInfo, [0] attributes
    return Kind.CERTIFICATE  # v1: serial, signature, issuer, validity, subject, key


Loaded = Union[Certificate, CertificationRequest, CRL, SM2PrivateKey, SM2PublicKey]


def load(data: bytes) -> Loaded:
    """Parse ``data`` with the one parser its kind needs; the typed errors of that parser."""
    kind = detect(data)
    if kind is Kind.CERTIFICATE:
        return Certificate.load(data)
    if kind is Kind.CSR:
        return CertificationRequest.load(data)
    if kind is Kind.CRL:
        return CRL.load(data)
    if kind is Kind.PRIVATE_KEY:
        return SM2PrivateKey.load(data)
    return SM2PublicKey.load(data)
