"""Interoperability with the pure-Python gmssl package (a test oracle only), in both directions."""

from __future__ import annotations

import pytest
from gmssl import sm2 as gmssl_sm2

from gm.kat import load_vectors, unhex
from gm.sm2 import CiphertextFormat, SignatureFormat, SM2PrivateKey, SM2PublicKey

MODE_C1C2C3, MODE_C1C3C2 = 0, 1


def oracle(key: SM2PrivateKey, mode: int = MODE_C1C3C2) -> gmssl_sm2.CryptSM2:
    return gmssl_sm2.CryptSM2(private_key=key.to_raw().hex(), public_key=key.public_key.to_raw()[1:].hex(), mode=mode)


def test_gmssl_reproduces_the_published_signature_with_its_nonce() -> None:
    """Ties the data file to the algorithm: the vector's k gives the vector's (r, s)."""
    vectors = load_vectors("sm2")
    key = SM2PrivateKey.from_raw(unhex(vectors["key"]["private_key"]))
    sig = oracle(key).sign_with_sm3(unhex(vectors["signature"]["message"]), vectors["signature"]["k"].lower())
    assert sig.upper() == vectors["signature"]["r"] + vectors["signature"]["s"]


def test_gm_signature_verifies_in_gmssl(sm2_key: SM2PrivateKey) -> None:
    message = b"gm -> gmssl"
    raw = sm2_key.sign(message, fmt=SignatureFormat.RAW)
    assert oracle(sm2_key).verify_with_sm3(raw.hex(), message)
    assert not oracle(sm2_key).verify_with_sm3(raw.hex(), message + b"!")


def test_gmssl_signature_verifies_in_gm(sm2_key: SM2PrivateKey) -> None:
    message = b"gmssl -> gm"
    raw = bytes.fromhex(oracle(sm2_key).sign_with_sm3(message))
    sm2_key.public_key.verify(raw, message, fmt=SignatureFormat.RAW)


def test_z_digest_matches_gmssl(sm2_key: SM2PrivateKey) -> None:
    message = b"digest input"
    assert sm2_key.public_key.message_digest(message).hex() == oracle(sm2_key)._sm3_z(message)


@pytest.mark.parametrize(
    ("mode", "fmt"), [(MODE_C1C3C2, CiphertextFormat.C1C3C2), (MODE_C1C2C3, CiphertextFormat.C1C2C3)]
)
def test_gm_ciphertext_decrypts_in_gmssl(sm2_key: SM2PrivateKey, mode: int, fmt: CiphertextFormat) -> None:
    ct = sm2_key.public_key.encrypt(b"to gmssl", fmt)
    assert oracle(sm2_key, mode).decrypt(ct[1:]) == b"to gmssl"  # gmssl omits C1's 04 prefix


@pytest.mark.parametrize(
    ("mode", "fmt"), [(MODE_C1C3C2, CiphertextFormat.C1C3C2), (MODE_C1C2C3, CiphertextFormat.C1C2C3)]
)
def test_gmssl_ciphertext_decrypts_in_gm(sm2_key: SM2PrivateKey, mode: int, fmt: CiphertextFormat) -> None:
    ct = oracle(sm2_key, mode).encrypt(b"from gmssl")
    assert sm2_key.decrypt(b"\x04" + ct, fmt) == b"from gmssl"


def test_gmssl_public_key_derivation_matches(sm2_key: SM2PrivateKey) -> None:
    derived = oracle(sm2_key)._kg(int.from_bytes(sm2_key.to_raw(), "big"), gmssl_sm2.default_ecc_table["g"])
    assert SM2PublicKey.from_raw(bytes.fromhex(derived)) == sm2_key.public_key
