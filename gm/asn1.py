"""GM/T object identifiers and the GM/T 0009 ASN.1 structures, registered with asn1crypto."""

from __future__ import annotations

from typing import Any

from asn1crypto import algos, core, keys

OID_SM2_CURVE = "1.2.156.10197.1.301"
OID_SM2_ENCRYPTION = "1.2.156.10197.1.301.3"
OID_SM2_SM3 = "1.2.156.10197.1.501"
OID_SM3 = "1.2.156.10197.1.401"
OID_SM4 = "1.2.156.10197.1.104"
OID_SM4_ECB = "1.2.156.10197.1.104.1"

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
