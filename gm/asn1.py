"""GM/T object identifiers and the GM/T 0009 ASN.1 structures, registered with asn1crypto."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, List, Tuple

from asn1crypto import algos, core, keys

from gm.errors import EncodingError

OID_SM2_CURVE = "1.2.156.10197.1.301"
OID_SM2_ENCRYPTION = "1.2.156.10197.1.301.3"
OID_SM2_SM3 = "1.2.156.10197.1.501"
OID_SM3 = "1.2.156.10197.1.401"
OID_SM4 = "1.2.156.10197.1.104"
OID_SM4_ECB = "1.2.156.10197.1.104.1"

OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"

CURVE_NAME = "sm2p256v1"
SIGNATURE_ALGORITHM = "sm2_sm3"


def _register(oid_class: Any, oid: str, name: str) -> None:
    oid_class._map[oid] = name
    if oid_class._reverse_map is not None:
        oid_class._reverse_map[name] = oid


if OID_SM2_CURVE not in keys.NamedCurve._map:
    keys.NamedCurve.register(CURVE_NAME, OID_SM2_CURVE, 32)
_register(algos.SignedDigestAlgorithmId, OID_SM2_SM3, SIGNATURE_ALGORITHM)
_register(algos.DigestAlgorithmId, OID_SM3, "sm3")


class SM2Signature(algos.DSASignature):  # type: ignore[misc]
    """GM/T 0009 SM2Signature ::= SEQUENCE { R INTEGER, S INTEGER } (same shape as ECDSA's)."""


class SM2Cipher(core.Sequence):  # type: ignore[misc]
    """GM/T 0009 SM2Cipher ::= SEQUENCE { XCoordinate, YCoordinate INTEGER, HASH, CipherText OCTET STRING }."""

    _fields = [
        ("x", core.Integer),
        ("y", core.Integer),
        ("hash", core.OctetString),
        ("cipher_text", core.OctetString),
    ]


class SymAlgorithmIdentifier(core.Sequence):  # type: ignore[misc]
    _fields = [
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class SM2EnvelopedKey(core.Sequence):  # type: ignore[misc]
    """GM/T 0009/0010 SM2EnvelopedKey: an SM2 key pair under a symmetric key that is itself SM2-encrypted.

    SEQUENCE { symAlgID AlgorithmIdentifier, symEncryptedKey SM2Cipher,
               sm2PublicKey SM2PublicKey (BIT STRING 04||x||y), sm2EncryptedPrivateKey BIT STRING }
    """

    _fields = [
        ("sym_alg_id", SymAlgorithmIdentifier),
        ("sym_encrypted_key", SM2Cipher),
        ("sm2_public_key", core.OctetBitString),
        ("sm2_encrypted_private_key", core.OctetBitString),
    ]


# -- key files, declared with open parameters (gm.keyformat checks them): asn1crypto's ``keys`` classes
# dispatch on the algorithm OID and fail with KeyError on algorithms they do not know.
class AlgorithmIdentifier(core.Sequence):  # type: ignore[misc]
    _fields = [
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class SubjectPublicKeyInfo(core.Sequence):  # type: ignore[misc]
    _fields = [
        ("algorithm", AlgorithmIdentifier),
        ("public_key", core.OctetBitString),
    ]


class ECParameters(core.Choice):  # type: ignore[misc]
    """RFC 5480 ECParameters: a named curve, implicitCA (NULL) or explicit parameters (refused later)."""

    _alternatives = [
        ("named", core.ObjectIdentifier),
        ("implicit_ca", core.Null),
        ("specified", core.Sequence),
    ]


class ECPrivateKey(core.Sequence):  # type: ignore[misc]
    """SEC1 / RFC 5915 ECPrivateKey."""

    _fields = [
        ("version", core.Integer),
        ("private_key", core.OctetString),
        ("parameters", ECParameters, {"explicit": 0, "optional": True}),
        ("public_key", core.OctetBitString, {"explicit": 1, "optional": True}),
    ]


class _Attributes(core.SetOf):  # type: ignore[misc]
    _child_spec = core.Any


class PrivateKeyInfo(core.Sequence):  # type: ignore[misc]
    """PKCS#8 PrivateKeyInfo, and RFC 5958 OneAsymmetricKey (version 1, with a public key)."""

    _fields = [
        ("version", core.Integer),
        ("algorithm", AlgorithmIdentifier),
        ("private_key", core.OctetString),
        ("attributes", _Attributes, {"implicit": 0, "optional": True}),
        ("public_key", core.OctetBitString, {"implicit": 1, "optional": True}),
    ]


# -- decoding untrusted DER ---------------------------------------------------------------------
# asn1crypto follows whatever tags, lengths and OIDs the bytes claim: on malformed input it raises
# ValueError, but also KeyError (unknown OIDs in an OID-dispatched field), IndexError (empty strings),
# AttributeError (a missing optional field used as a value), OverflowError, UnicodeDecodeError and
# RecursionError (deep nesting). Every gm parser turns these into EncodingError at its entry point.
ASN1_ERRORS = (
    ValueError,
    TypeError,
    LookupError,
    AttributeError,
    ArithmeticError,
    RecursionError,
    NotImplementedError,
)

# Sizes above which input is refused before it is parsed (asn1crypto decodes about 0.3-1 MB/s).
# Real certificates, requests, keys and envelopes are a few KB; a CRL of 8 MB lists ~250,000 entries.
MAX_DER_SIZE = 256 * 1024
MAX_CRL_SIZE = 8 * 1024 * 1024


def check_size(data: bytes, what: str, limit: int = MAX_DER_SIZE) -> None:
    if len(data) > limit:
        raise EncodingError(
            f"{what} input is {format_size(len(data))}, more than the {format_size(limit)} accepted: "
            f"this is not a {what} (or not one certassist can read)"
        )


def format_size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


def error_text(exc: BaseException) -> str:
    """asn1crypto's message on one line ("while parsing ..." lines dropped); what went wrong, briefly."""
    if isinstance(exc, RecursionError):
        return "structure nested too deeply"
    if isinstance(exc, UnicodeDecodeError):
        return f"text is not valid {exc.encoding}"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    head = " ".join(line for line in lines if not line.startswith("while parsing"))
    return head or type(exc).__name__


@contextmanager
def decoding(what: str) -> Iterator[None]:
    """Run a parse of untrusted DER; any asn1crypto failure becomes ``EncodingError("not a DER <what>: ...")``."""
    try:
        yield
    except ASN1_ERRORS as exc:
        raise EncodingError(f"not a DER {what}: {error_text(exc)}") from exc


def _header(data: bytes, pos: int, end: int) -> Tuple[int, int, int]:
    """(first identifier octet, content start, content end) of the TLV at ``pos``; ValueError if malformed."""
    if pos + 2 > end:
        raise ValueError("truncated element")
    first = data[pos]
    pos += 1
    if first & 0x1F == 0x1F:  # high tag number: skip its octets
        while pos < end and data[pos] & 0x80:
            pos += 1
        pos += 1
    if pos >= end:
        raise ValueError("truncated element")
    length = data[pos]
    pos += 1
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 8 or pos + count > end:
            raise ValueError("unsupported length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        raise ValueError("truncated element")
    return first, pos, pos + length


def outline(data: bytes, limit: int = 8) -> List[Tuple[int, int, int]]:
    """(identifier octet, start, end) of the first ``limit`` elements inside the outer SEQUENCE of ``data``.

    Reads headers only, so it costs the same for 1 KB and 10 MB. Used to tell what a DER file is before
    choosing the one parser for it. Raises ValueError unless ``data`` is one definite-length SEQUENCE.
    """
    first, start, end = _header(data, 0, len(data))
    if first != 0x30 or end != len(data):
        raise ValueError("not one DER SEQUENCE")
    return inner_outline(data, start, end, limit)


def inner_outline(data: bytes, start: int, end: int, limit: int = 8) -> List[Tuple[int, int, int]]:
    """Like :func:`outline` for the elements between ``start`` and ``end`` of ``data``."""
    return [
        (tag, content_start, content_end)
        for tag, _pos, content_start, content_end in _elements(data, start, end, limit)
    ]


def raw_element(data: bytes, *path: int) -> bytes:
    """The exact bytes (header and content) of the element at ``path`` inside ``data``'s outer element.

    ``raw_element(cert_der, 0)`` is the tbsCertificate as it was signed. asn1crypto's ``dump()`` is no
    substitute: it re-encodes a structure whose length octets end in 0x80 (it takes them for an
    indefinite length), which changes BER input and fails on malformed content. ValueError if absent.
    """
    _tag, start, end = _header(data, 0, len(data))
    element_start = 0
    for index in path:
        elements = _elements(data, start, end, index + 1)
        if len(elements) <= index:
            raise ValueError("element not found")
        _tag, element_start, start, end = elements[index]
    return bytes(data[element_start:end])


def _elements(data: bytes, start: int, end: int, limit: int) -> List[Tuple[int, int, int, int]]:
    """(identifier octet, header start, content start, content end) of the first ``limit`` elements."""
    found: List[Tuple[int, int, int, int]] = []
    pos = start
    while pos < end and len(found) < limit:
        tag, content_start, content_end = _header(data, pos, end)
        found.append((tag, pos, content_start, content_end))
        pos = content_end
    return found
