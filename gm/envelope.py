"""Escrowed encryption keys delivered to a device (the Chinese dual-certificate system).

The KMC generates the encryption key pair, keeps it in escrow, and delivers it enveloped for the
device's *signing* public key: a random SM4 key encrypts the private scalar (SM4-ECB, two blocks),
and SM2 encrypts the SM4 key. The same content has two encodings:

- GM/T 0009/0010 ``SM2EnvelopedKey`` (DER), what the issuing service sends;
- GM/T 0016 ``ENVELOPEDKEYBLOB``, what ``SKF_ImportECCKeyPair`` takes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from gm import asn1, skf, sm4
from gm.errors import DecryptionError, EncodingError, InvalidKey
from gm.sm2 import CiphertextFormat, SM2Ciphertext, SM2PrivateKey, SM2PublicKey


@dataclass(frozen=True)
class EnvelopedKey:
    """An SM2 key pair enveloped for one recipient (format-neutral)."""

    public_key: SM2PublicKey  # of the enveloped (encryption) key pair
    encrypted_private_key: bytes  # SM4-ECB(sym_key, d), 32 bytes
    encrypted_sym_key: SM2Ciphertext  # SM2(recipient, sym_key)

    # -- GM/T 0009 -------------------------------------------------------------------------
    def to_der(self) -> bytes:
        value = asn1.SM2EnvelopedKey(
            {
                "sym_alg_id": {"algorithm": asn1.OID_SM4_ECB},
                "sym_encrypted_key": asn1.SM2Cipher.load(self.encrypted_sym_key.encode(CiphertextFormat.DER)),
                "sm2_public_key": self.public_key.to_raw(),
                "sm2_encrypted_private_key": self.encrypted_private_key,
            }
        )
        return bytes(value.dump())

    @classmethod
    def from_der(cls, der: bytes) -> EnvelopedKey:
        der = bytes(der)
        asn1.check_size(der, "SM2EnvelopedKey")
        with asn1.decoding("SM2EnvelopedKey"):
            value = asn1.SM2EnvelopedKey.load(der, strict=True)
            alg = value["sym_alg_id"]["algorithm"].dotted
            cipher_der = value["sym_encrypted_key"].dump()
            point = bytes(value["sm2_public_key"].native)
            encrypted = bytes(value["sm2_encrypted_private_key"].native)
        cipher = SM2Ciphertext.parse(cipher_der, CiphertextFormat.DER)
        if alg not in (asn1.OID_SM4, asn1.OID_SM4_ECB):
            raise EncodingError(f"SM2EnvelopedKey uses symmetric algorithm {alg}; only SM4 is supported")
        return cls(SM2PublicKey.from_raw(point), _check_encrypted_scalar(encrypted), cipher)

    # -- GM/T 0016 -------------------------------------------------------------------------
    def to_skf_blob(self) -> bytes:
        c = self.encrypted_sym_key
        cipher_blob = skf.EccCipherBlob(c.x.to_bytes(32, "big"), c.y.to_bytes(32, "big"), c.c3, c.c2)
        return skf.EnvelopedKeyBlob(
            symm_alg_id=skf.SGD.SM4_ECB,
            encrypted_private_key=self.encrypted_private_key,
            public_key=skf.EccPublicKeyBlob.from_point(self.public_key.to_raw()),
            cipher_blob=cipher_blob,
        ).to_bytes()

    @classmethod
    def from_skf_blob(cls, data: bytes, sm4_ecb_id: int = skf.SGD.SM4_ECB) -> EnvelopedKey:
        blob = skf.EnvelopedKeyBlob.from_bytes(data)
        if blob.symm_alg_id != sm4_ecb_id:
            raise EncodingError(f"ENVELOPEDKEYBLOB algorithm 0x{blob.symm_alg_id:08x} is not SM4-ECB")
        cb = blob.cipher_blob
        cipher = SM2Ciphertext(int.from_bytes(cb.x, "big"), int.from_bytes(cb.y, "big"), cb.hash, cb.cipher)
        public = SM2PublicKey.from_raw(blob.public_key.to_point())
        return cls(public, _check_encrypted_scalar(blob.encrypted_private_key), cipher)

    # -- opening ---------------------------------------------------------------------------
    def open(self, recipient: SM2PrivateKey) -> SM2PrivateKey:
        """Recover the enveloped private key with the recipient's (signing) private key."""
        sym_key = recipient.decrypt(self.encrypted_sym_key.encode(CiphertextFormat.DER))
        if len(sym_key) != sm4.KEY_SIZE:
            raise DecryptionError(f"enveloped symmetric key is {len(sym_key)} bytes, SM4 needs 16")
        scalar = sm4.ecb_decrypt(sym_key, self.encrypted_private_key)
        try:
            key = SM2PrivateKey.from_raw(scalar)
        except InvalidKey as exc:
            raise DecryptionError("enveloped private key is invalid after decryption") from exc
        if key.public_key != self.public_key:
            raise DecryptionError("enveloped private key does not match the enveloped public key")
        return key


def _check_encrypted_scalar(data: bytes) -> bytes:
    if len(data) != 32:
        raise EncodingError(f"encrypted SM2 private key must be 32 bytes, got {len(data)}")
    return bytes(data)


def envelope_key(key_pair: SM2PrivateKey, recipient: SM2PublicKey) -> EnvelopedKey:
    """Envelope ``key_pair`` (the escrowed encryption key) for ``recipient`` (the device's signing key)."""
    sym_key = os.urandom(sm4.KEY_SIZE)
    encrypted_private = sm4.ecb_encrypt(sym_key, key_pair.to_raw())
    encrypted_sym = SM2Ciphertext.parse(recipient.encrypt(sym_key), CiphertextFormat.DER)
    return EnvelopedKey(key_pair.public_key, encrypted_private, encrypted_sym)


__all__ = ["EnvelopedKey", "envelope_key"]
