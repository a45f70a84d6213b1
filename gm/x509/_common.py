"""Shared pieces of the X.509 layer: SM2-with-SM3 signing of DER structures, times, PEM, names."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any, Dict, Optional, Union

from asn1crypto import algos, x509

from gm import asn1
from gm.errors import CertificateError, InvalidSignature
from gm.sm2 import DEFAULT_SIGNER_ID, SM2PrivateKey, SM2PublicKey
from gm.sm3 import sm3

_UTC_TIME_END = datetime(2050, 1, 1, tzinfo=timezone.utc)


def signature_algorithm() -> algos.SignedDigestAlgorithm:
    """SM2-with-SM3 with parameters absent, as GM/T 0015 and OpenSSL write it."""
    return algos.SignedDigestAlgorithm({"algorithm": asn1.SIGNATURE_ALGORITHM})


SIGNATURE_ALGORITHM_DER = bytes(signature_algorithm().dump())


def der_tlv(tag: int, content: bytes) -> bytes:
    """One DER element (definite length). Used to join fields that asn1crypto encoded one by one."""
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + content


def sign_tbs(tbs_der: bytes, key: SM2PrivateKey, signer_id: bytes) -> bytes:
    return key.sign(tbs_der, signer_id=signer_id)


def verify_signed(
    tbs_der: bytes,
    algorithm: algos.SignedDigestAlgorithm,
    signature: bytes,
    public_key: SM2PublicKey,
    signer_id: bytes,
    what: str,
) -> None:
    """Raise CertificateError(reason='signature') unless ``signature`` is a valid SM2-with-SM3 signature."""
    oid = algorithm["algorithm"].dotted
    if oid != asn1.OID_SM2_SM3:
        raise CertificateError(f"{what} is signed with {oid}, not SM2-with-SM3", "algorithm")
    try:
        public_key.verify(signature, tbs_der, signer_id=signer_id)
    except InvalidSignature as exc:
        raise CertificateError(f"{what} signature does not verify: {exc}", "signature") from exc


def to_time(value: datetime) -> x509.Time:
    """UTCTime before 2050, GeneralizedTime from then on (RFC 5280 §4.1.2.5); whole seconds, UTC."""
    if value.tzinfo is None:
        raise ValueError("certificate times must be timezone-aware")
    value = value.astimezone(timezone.utc).replace(microsecond=0)
    return x509.Time({"utc_time" if value < _UTC_TIME_END else "general_time": value})


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def random_serial() -> int:
    """A positive, unpredictable 159-bit serial (RFC 5280 allows 20 octets; CA/B asks for 64+ random bits)."""
    return secrets.randbits(159) | (1 << 158)


def key_identifier(public_key: SM2PublicKey) -> bytes:
    """160-bit key identifier: SM3 of the subjectPublicKey bits, truncated (RFC 7093 method)."""
    return sm3(public_key.to_raw())[:20]


NameInput = Union[x509.Name, Dict[str, str]]


def build_name(name: NameInput) -> x509.Name:
    """An X.500 name from asn1crypto attribute names (``{"common_name": "张三", "country_name": "CN"}``).

    asn1crypto orders the attributes (C, ST, L, O, OU, CN, ...) and writes text as UTF8String, which is
    how GM/T 0015 certificates and OpenSSL encode Chinese names.
    """
    if isinstance(name, x509.Name):
        return name
    if not name:
        raise ValueError("a name needs at least one attribute")
    return x509.Name.build(dict(name))


def name_text(name: NameInput) -> str:
    """RFC 4514-like one-line text, most specific first (``CN=…, O=…, C=CN``).

    A dict gives the text of the name ``build_name`` makes of it, without building one.
    """
    if not isinstance(name, x509.Name):
        ordered = sorted(name.items(), key=lambda item: x509.NameType.preferred_ordinal(item[0]))
        return ", ".join(f"{_SHORT.get(x509.NameType.map(key), key)}={value}" for key, value in reversed(ordered))
    parts = []
    for rdn in reversed(list(name.chosen)):
        for atv in rdn:
            parts.append(f"{_short(atv['type'])}={atv['value'].native}")
    return ", ".join(parts)


_SHORT = {
    "common_name": "CN",
    "organization_name": "O",
    "organizational_unit_name": "OU",
    "country_name": "C",
    "state_or_province_name": "ST",
    "locality_name": "L",
    "serial_number": "serialNumber",
    "email_address": "emailAddress",
}


def _short(attr_type: Any) -> str:
    native = attr_type.native
    return str(_SHORT.get(native, native))


def default_id(signer_id: Optional[bytes]) -> bytes:
    return DEFAULT_SIGNER_ID if signer_id is None else signer_id
