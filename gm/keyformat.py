"""Decoding of SM2 key files: SubjectPublicKeyInfo, PKCS#8 PrivateKeyInfo and SEC1 ECPrivateKey (DER).

The structures are declared here with open parameters instead of asn1crypto's ``keys`` classes, which
dispatch on the algorithm OID and fail with KeyError on any algorithm they do not know (a DH key, the
SM2 algorithm OID) and with AttributeError on absent curve parameters.

Accepted algorithm identifiers (GM/T 0015 allows both, RFC 5480 / OpenSSL write the first):

- ``id-ecPublicKey`` (1.2.840.10045.2.1) with the named curve sm2p256v1 (1.2.156.10197.1.301);
- the SM2 algorithm OID 1.2.156.10197.1.301 itself (written by OpenSSL 3.0 before 3.0.13, some USB key
  middleware and TPMs), with sm2p256v1, NULL or no parameters: that OID names the curve, so the key
  is unambiguous. The point or scalar is then checked like any other SM2 key.

Refused with :class:`~gm.errors.InvalidKey` and a message that says what the key is: other algorithms
(RSA, DSA, DH, Ed25519 ...), EC keys on other curves, EC keys without curve parameters (the curve
cannot be told) and explicit curve parameters.
"""

from __future__ import annotations

from typing import Optional, Tuple

from asn1crypto import core, keys

from gm import asn1
from gm.errors import EncodingError, InvalidKey

_ALGORITHM_NAMES = {
    "1.2.840.113549.1.1.1": "RSA",
    "1.2.840.113549.1.1.10": "RSA-PSS",
    "1.2.840.10040.4.1": "DSA",
    "1.2.840.113549.1.3.1": "Diffie-Hellman (PKCS#3)",
    "1.2.840.10046.2.1": "Diffie-Hellman (X9.42)",
    "1.3.101.110": "X25519",
    "1.3.101.111": "X448",
    "1.3.101.112": "Ed25519",
    "1.3.101.113": "Ed448",
    "1.2.643.2.2.19": "GOST R 34.10-2001",
}


def _curve_of(parameters: Optional[bytes], algorithm: str) -> Optional[str]:
    """The named curve OID of DER curve parameters; None when absent or NULL."""
    if parameters is None or parameters == b"\x05\x00":
        return None
    if parameters[:1] == b"\x30":
        raise InvalidKey(
            "EC key with explicit curve parameters; write it with the named curve "
            "(openssl ec -in KEY -param_enc named_curve -out NAMED.pem)"
        )
    if parameters[:1] != b"\x06":
        raise InvalidKey(f"{algorithm} key parameters are neither a curve name nor absent")
    return str(core.ObjectIdentifier.load(parameters, strict=True).dotted)


def _parameters(algorithm: asn1.AlgorithmIdentifier) -> Optional[bytes]:
    value = algorithm["parameters"]
    return None if isinstance(value, core.Void) else bytes(value.dump())


def _curve_name(oid: str) -> str:
    name = keys.NamedCurve._map.get(oid)
    return f"{name} ({oid})" if name else oid


def check_sm2_algorithm(algorithm: asn1.AlgorithmIdentifier) -> None:
    """Raise InvalidKey unless the AlgorithmIdentifier denotes an SM2 key (see the module docstring)."""
    oid = algorithm["algorithm"].dotted
    parameters = _parameters(algorithm)
    if oid == asn1.OID_SM2_CURVE:
        curve = _curve_of(parameters, "SM2")
        if curve not in (None, asn1.OID_SM2_CURVE):
            raise InvalidKey(f"key with the SM2 algorithm OID names another curve: {_curve_name(curve)}")
        return
    if oid != asn1.OID_EC_PUBLIC_KEY:
        name = _ALGORITHM_NAMES.get(oid)
        what = f"an {name} key" if name and name[0] in "AEIOU" else f"a {name} key" if name else f"algorithm {oid}"
        raise InvalidKey(f"not an SM2 key: {what}")
    _require_sm2_curve(_curve_of(parameters, "EC"), "EC key")


def _require_sm2_curve(curve: Optional[str], what: str) -> None:
    """An EC key (``what``) must name the SM2 curve: without parameters the curve cannot be told."""
    if curve is None:
        raise InvalidKey(
            f"{what} without curve parameters: the curve cannot be told; an SM2 key names the curve "
            f"sm2p256v1 ({asn1.OID_SM2_CURVE})"
        )
    if curve != asn1.OID_SM2_CURVE:
        raise InvalidKey(f"not an SM2 key: an EC key on the curve {_curve_name(curve)}, not the SM2 curve sm2p256v1")


def public_point(der: bytes) -> bytes:
    """The point of an SM2 SubjectPublicKeyInfo (not yet checked to lie on the curve)."""
    with asn1.decoding("SubjectPublicKeyInfo"):
        info = asn1.SubjectPublicKeyInfo.load(der, strict=True)
        algorithm = info["algorithm"]
        algorithm["algorithm"].dotted  # noqa: B018 - parse now
        point = bytes(info["public_key"].native)
    with asn1.decoding("SubjectPublicKeyInfo"):
        check_sm2_algorithm(algorithm)
    return point


def private_key(der: bytes) -> Tuple[int, Optional[bytes]]:
    """(scalar, embedded public point or None) of PKCS#8 or SEC1 DER; the scalar is not range-checked."""
    kind = _kind(der)
    if kind == "pkcs8":
        with asn1.decoding("PKCS#8 private key"):
            info = asn1.PrivateKeyInfo.load(der, strict=True)
            version = info["version"].native
            algorithm = info["algorithm"]
            algorithm["algorithm"].dotted  # noqa: B018
            inner = bytes(info["private_key"].native)
            outer_public = info["public_key"].native
        if version not in (0, 1):
            raise EncodingError(f"PKCS#8 private key version {version} is not 0 or 1")
        with asn1.decoding("PKCS#8 private key"):
            check_sm2_algorithm(algorithm)
        scalar, public, curve = _ec_private_key(inner, "PKCS#8 private key")
        if curve is not None and curve != asn1.OID_SM2_CURVE:
            raise InvalidKey(f"PKCS#8 SM2 key holds an EC key on another curve: {_curve_name(curve)}")
        return scalar, public or (bytes(outer_public) if outer_public else None)
    scalar, public, curve = _ec_private_key(der, "SEC1 EC private key")
    _require_sm2_curve(curve, "EC private key")
    return scalar, public


def _kind(der: bytes) -> str:
    """'pkcs8' when the second element is an AlgorithmIdentifier (SEQUENCE), else 'sec1'."""
    if not der.startswith(b"\x30"):
        raise EncodingError("not a PKCS#8 or SEC1 DER private key (nor PEM)")
    try:
        elements = asn1.outline(der, 3)
    except ValueError as exc:
        raise EncodingError(f"not a PKCS#8 or SEC1 DER private key: {exc}") from exc
    return "pkcs8" if len(elements) > 1 and elements[1][0] == 0x30 else "sec1"


def _ec_private_key(der: bytes, what: str) -> Tuple[int, Optional[bytes], Optional[str]]:
    with asn1.decoding(what):
        value = asn1.ECPrivateKey.load(der, strict=True)
        version = value["version"].native
        secret = bytes(value["private_key"].native)
        parameters = value["parameters"]
        public = value["public_key"].native
        curve = _curve_of(None if isinstance(parameters, core.Void) else bytes(parameters.chosen.dump()), "EC")
    if version != 1:
        raise EncodingError(f"{what}: ECPrivateKey version {version} is not 1")
    significant = secret.lstrip(b"\x00")
    if not secret or len(significant) > 32:
        raise InvalidKey(f"{what}: the private scalar is {len(secret)} bytes, an SM2 key has 32")
    return int.from_bytes(secret, "big"), (bytes(public) if public else None), curve
