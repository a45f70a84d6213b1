"""Shared pieces of the X.509 layer: SM2-with-SM3 signing of DER structures, times, PEM, names."""

from __future__ import annotations

import secrets
import unicodedata
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from asn1crypto import algos, util, x509

from gm import asn1
from gm.errors import CertificateError, EncodingError, InvalidSignature
from gm.sm2 import DEFAULT_SIGNER_ID, SM2PrivateKey, SM2PublicKey, signature_to_raw
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
    describe: Callable[[], str],
) -> None:
    """Raise CertificateError(reason='signature') unless ``signature`` is a valid SM2-with-SM3 signature.

    ``describe`` names the signed object in messages; it is called only on failure (names cost time).

    When it fails with the default signer ID but verifies with an empty one, the message says so: that is
    what OpenSSL 3.0 writes unless given ``-sigopt distid:1234567812345678``.
    """
    oid = algorithm["algorithm"].dotted
    if oid != asn1.OID_SM2_SM3:
        raise CertificateError(f"{describe()} is signed with {oid}, not SM2-with-SM3", "algorithm")
    try:
        public_key.verify(signature, tbs_der, signer_id=signer_id)
    except InvalidSignature as exc:
        what = describe()
        if signer_id == DEFAULT_SIGNER_ID:
            try:
                public_key.verify(signature, tbs_der, signer_id=b"")
            except InvalidSignature:
                pass
            else:
                raise CertificateError(
                    f"{what} was signed with an empty SM2 signer ID instead of the standard "
                    f"{DEFAULT_SIGNER_ID.decode()} (OpenSSL 3.0 does this unless told otherwise); "
                    f"sign it again with -sigopt distid:{DEFAULT_SIGNER_ID.decode()}",
                    "signature",
                ) from exc
        raise CertificateError(
            f"{what} signature does not verify: {exc}; if it was made with OpenSSL, check that it was signed "
            f"with -sigopt distid:{DEFAULT_SIGNER_ID.decode()} (the SM2 signer ID)",
            "signature",
        ) from exc


def check_signature_value(algorithm: algos.SignedDigestAlgorithm, signature: Any, what: str) -> None:
    """EncodingError unless the signature BIT STRING is whole bytes and, for SM2-with-SM3, a well-formed
    SM2Signature (bad input, not a failed check). Other algorithms are refused by :func:`verify_signed`."""
    value = signature.native
    if not isinstance(value, bytes):
        raise EncodingError(f"{what} signature is not a whole number of bytes")
    if algorithm["algorithm"].dotted != asn1.OID_SM2_SM3:
        return
    try:
        signature_to_raw(value)
    except EncodingError as exc:
        raise EncodingError(f"{what} signature is malformed: {exc}") from exc


_YEAR_ONE = datetime(1, 1, 1, tzinfo=timezone.utc)


def native_time(value: Any) -> datetime:
    """A parsed X.509 time as a datetime. GeneralizedTime allows the year 0000, which datetime cannot hold:
    that reads as 0001-01-01 (just as far in the past) and :func:`time_anomaly` reports it."""
    native = value.native
    if isinstance(native, util.extended_datetime):
        return _YEAR_ONE
    if not isinstance(native, datetime):
        raise EncodingError("time field holds no time")
    return native


def time_anomaly(value: Any, what: str) -> Optional[str]:
    """A warning for a time no genuine certificate carries (year 0000), else None."""
    if isinstance(value.native, util.extended_datetime):
        return f"{what} is in the year 0000 ({value.chosen.contents.decode('ascii', 'replace')}): not a real date"
    return None


def serial_anomaly(serial: int, what: str) -> Optional[str]:
    """RFC 5280 §4.1.2.2: serials are positive and at most 20 octets."""
    if serial < 0:
        return f"{what} serial number is negative ({serial:X}); RFC 5280 requires a positive serial"
    if serial == 0:
        return f"{what} serial number is zero; RFC 5280 requires a positive serial"
    if serial.bit_length() > 159:
        return f"{what} serial number is longer than 20 octets (RFC 5280)"
    return None


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


# A name: parsed; a dict of asn1crypto attribute names (asn1crypto orders them); or (attribute, value) pairs
# in the order they are to appear, the most general first (``[("country_name", "CN"), ..., ("common_name", …)]``).
NameInput = Union[x509.Name, Dict[str, str], Sequence[Tuple[str, str]]]


def build_name(name: NameInput) -> x509.Name:
    """An X.500 name from asn1crypto attribute names (``{"common_name": "张三", "country_name": "CN"}``).

    A dict is ordered by asn1crypto (serialNumber, C, ST, L, O, OU, CN, ...); pairs keep their order, one
    attribute per RDN. Text is written as UTF8String (PrintableString where X.520 requires it: C,
    serialNumber), which is how GM/T 0015 certificates and OpenSSL encode Chinese names.
    """
    if isinstance(name, x509.Name):
        return name
    if not name:
        raise ValueError("a name needs at least one attribute")
    if isinstance(name, dict):
        return x509.Name.build(dict(name))
    rdns = [x509.Name.build({attribute: value}).chosen[0] for attribute, value in name]
    return x509.Name(name="", value=x509.RDNSequence(rdns))


def name_text(name: NameInput) -> str:
    """RFC 4514 one-line text, most specific first (``CN=…, O=…, C=CN``), never failing.

    Values are escaped (RFC 4514 §2.4: ``,+"\\<>;``, a leading ``#`` or space, a trailing space), so a
    name whose CN holds ``"x, O=Bank"`` cannot pass for a name with an O attribute. Control and
    formatting characters (bidi overrides, zero-width) are shown as ``\\XX`` hex pairs. Values that are
    not text (or not valid text) are shown as ``#`` and their DER in hex. Attributes of one multi-valued
    RDN are joined with ``+``. A dict gives the text of the name ``build_name`` makes of it, unbuilt.
    """
    if not isinstance(name, x509.Name):
        if isinstance(name, dict):
            ordered = sorted(name.items(), key=lambda item: x509.NameType.preferred_ordinal(item[0]))
        else:
            ordered = list(name)
        return ", ".join(
            f"{_SHORT.get(x509.NameType.map(key), key)}={escape_value(value)}" for key, value in reversed(ordered)
        )
    try:
        rdns = list(name.chosen)
    except asn1.ASN1_ERRORS:
        return "#" + bytes(name.contents or b"").hex()
    return ", ".join("+".join(_atv_text(atv) for atv in _atvs(rdn)) for rdn in reversed(rdns))


def _atvs(rdn: Any) -> List[Any]:
    try:
        return list(rdn)
    except asn1.ASN1_ERRORS:
        return []


def _atv_text(atv: Any) -> str:
    try:
        kind = _short(atv["type"])
    except asn1.ASN1_ERRORS:
        kind = "?"
    try:
        value = atv["value"]
        native = value.native
        shown = escape_value(native) if isinstance(native, str) else "#" + bytes(value.dump()).hex()
    except asn1.ASN1_ERRORS:
        shown = "#" + bytes(atv.contents or b"").hex()
    return f"{kind}={shown}"


_SPECIAL = set(',+"\\<>;')


def escape_value(value: str) -> str:
    """One attribute value escaped per RFC 4514 §2.4 (and control/format characters as hex pairs)."""
    out = []
    last = len(value) - 1
    for i, ch in enumerate(value):
        if ch in _SPECIAL or (ch == "#" and i == 0) or (ch == " " and i in (0, last)):
            out.append("\\" + ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            out.append("".join(f"\\{b:02X}" for b in ch.encode("utf-8", "surrogatepass")))
        else:
            out.append(ch)
    return "".join(out)


def names_equal(a: x509.Name, b: x509.Name) -> bool:
    """RFC 5280 §7.1 name comparison (asn1crypto's), where identical DER is equal and names that the
    comparison cannot prepare (LDAP stringprep refuses bidi controls and private-use characters, which
    some rare Chinese characters use) are equal only when their DER is."""
    try:
        if a.dump() == b.dump():
            return True
        return bool(a == b)
    except asn1.ASN1_ERRORS:
        return False


def check_name(name: x509.Name, what: str) -> None:
    """EncodingError unless every attribute of a parsed name has a value of its declared string type.

    A UTF8String holding bytes that are not UTF-8 (or a BMPString of odd length) is malformed DER: refused
    here, where it is read, rather than when the name is shown.
    """
    for rdn in name.chosen:
        for atv in rdn:
            oid = bytes(atv["type"].contents or b"")
            if not oid or oid[-1] & 0x80:
                raise EncodingError(f"{what}: an attribute type is not a complete object identifier")
            value = atv["value"]
            try:
                value.native  # noqa: B018 - decodes the text
            except UnicodeDecodeError as exc:
                kind = _short(atv["type"])
                raise EncodingError(f"{what}: the {kind} attribute is not valid {exc.encoding} text") from exc


_SHORT = {
    "common_name": "CN",
    "organization_name": "O",
    "organizational_unit_name": "OU",
    "country_name": "C",
    "state_or_province_name": "ST",
    "locality_name": "L",
    "serial_number": "serialNumber",
    "email_address": "emailAddress",
    "street_address": "STREET",
    "domain_component": "DC",
    "user_id": "UID",
    "given_name": "givenName",
    "surname": "SN",
    "title": "title",
}


def _short(attr_type: Any) -> str:
    """The short name of an attribute type, or its dotted OID (RFC 4514 §2.3)."""
    short = _SHORT.get(attr_type.native)
    return str(short) if short is not None else str(attr_type.dotted)


def default_id(signer_id: Optional[bytes]) -> bytes:
    return DEFAULT_SIGNER_ID if signer_id is None else signer_id
