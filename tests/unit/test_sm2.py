"""SM2 keys, signatures and encryption through gm.sm2: round trips, encodings, and every refusal."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gm import curve, selftest
from gm._native import sm2 as native
from gm.errors import DecryptionError, EncodingError, InvalidKey, InvalidSignature, SelfTestFailed
from gm.sm2 import (
    DEFAULT_SIGNER_ID,
    CiphertextFormat,
    SignatureFormat,
    SM2Ciphertext,
    SM2PrivateKey,
    SM2PublicKey,
    convert_ciphertext,
    signature_to_der,
    signature_to_raw,
)


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


# -- keys ------------------------------------------------------------------------------------


def test_generated_keys_are_distinct_and_valid(sm2_key: SM2PrivateKey) -> None:
    other = SM2PrivateKey.generate()
    assert other != sm2_key
    assert curve.is_valid_private_scalar(int.from_bytes(other.to_raw(), "big"))
    assert other.public_key.to_raw()[0] == 4 and len(other.public_key.to_raw()) == 65


def test_key_encodings_round_trip(sm2_key: SM2PrivateKey) -> None:
    pub = sm2_key.public_key
    for loaded in (
        SM2PrivateKey.from_raw(sm2_key.to_raw()),
        SM2PrivateKey.from_der(sm2_key.to_der()),
        SM2PrivateKey.load(sm2_key.to_pem()),
        SM2PrivateKey.load(sm2_key.to_der()),
    ):
        assert loaded == sm2_key and loaded.to_raw() == sm2_key.to_raw()
    for loaded_pub in (
        SM2PublicKey.from_raw(pub.to_raw()),
        SM2PublicKey.from_raw(pub.to_raw()[1:]),
        SM2PublicKey.from_der(pub.to_der()),
        SM2PublicKey.load(pub.to_pem()),
        SM2PublicKey.load(pub.to_der()),
    ):
        assert loaded_pub == pub
    assert pub.x == int.from_bytes(pub.to_raw()[1:33], "big")


def test_private_key_never_shows_secret(sm2_key: SM2PrivateKey) -> None:
    secret_hex = sm2_key.to_raw().hex()
    for text in (repr(sm2_key), str(sm2_key), f"{sm2_key!r}"):
        assert secret_hex not in text.lower()
        assert "fingerprint" in repr(sm2_key.public_key) or "public=" in text
    with pytest.raises(TypeError):
        pickle.dumps(sm2_key)


@pytest.mark.parametrize(
    "scalar",
    [0, curve.N - 1, curve.N, curve.N + 5, 2**256 - 1],
    ids=["zero", "n-1", "n", "above-n", "max"],
)
def test_private_scalar_out_of_range_is_refused(scalar: int) -> None:
    with pytest.raises(InvalidKey):
        SM2PrivateKey.from_raw(scalar.to_bytes(32, "big"))


def test_private_key_wrong_length_is_refused() -> None:
    with pytest.raises(InvalidKey):
        SM2PrivateKey.from_raw(b"\x01" * 31)


def test_public_point_off_curve_is_refused(sm2_key: SM2PrivateKey) -> None:
    raw = sm2_key.public_key.to_raw()
    with pytest.raises(InvalidKey):
        SM2PublicKey.from_raw(flip(raw, 64))
    with pytest.raises(InvalidKey):
        SM2PublicKey.from_raw(b"\x02" + raw[1:])  # compressed/odd prefixes are not accepted here
    with pytest.raises(InvalidKey):
        SM2PublicKey.from_raw(b"\x04" + b"\x00" * 64)


def test_mismatched_embedded_public_key_is_refused(sm2_key: SM2PrivateKey) -> None:
    from asn1crypto import keys

    info = keys.PrivateKeyInfo.load(sm2_key.to_der())
    ec_key = info["private_key"].parsed
    ec_key["public_key"] = SM2PrivateKey.generate().public_key.to_raw()
    tampered = keys.PrivateKeyInfo(
        {"version": 0, "private_key_algorithm": info["private_key_algorithm"], "private_key": ec_key}
    ).dump()
    with pytest.raises(InvalidKey, match="does not belong"):
        SM2PrivateKey.from_der(tampered)


def test_non_sm2_curve_is_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    p256 = ec.generate_private_key(ec.SECP256R1())
    der = p256.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(InvalidKey, match="SM2 curve"):
        SM2PrivateKey.from_der(der)
    spki = p256.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(InvalidKey, match="SM2 curve"):
        SM2PublicKey.from_der(spki)


@pytest.mark.parametrize("junk", [b"", b"\x30\x03\x02\x01", b"not a key at all", b"-----BEGIN PUBLIC KEY-----\nxx\n"])
def test_garbage_key_input_gives_encoding_error(junk: bytes) -> None:
    with pytest.raises((EncodingError, InvalidKey)):
        SM2PrivateKey.load(junk)
    with pytest.raises((EncodingError, InvalidKey)):
        SM2PublicKey.load(junk + b"\x00")


# -- signatures ------------------------------------------------------------------------------


def test_sign_verify_default_id(sm2_key: SM2PrivateKey) -> None:
    sig = sm2_key.sign(b"message")
    sm2_key.public_key.verify(sig, b"message")
    sm2_key.public_key.verify(sig, b"message", signer_id=DEFAULT_SIGNER_ID)


def test_signature_is_randomised(sm2_key: SM2PrivateKey) -> None:
    assert sm2_key.sign(b"m") != sm2_key.sign(b"m")


def test_tampered_signature_message_key_or_id_is_refused(sm2_key: SM2PrivateKey) -> None:
    sig = sm2_key.sign(b"message", fmt=SignatureFormat.RAW)
    pub = sm2_key.public_key
    with pytest.raises(InvalidSignature):
        pub.verify(flip(sig, 10), b"message", fmt=SignatureFormat.RAW)
    with pytest.raises(InvalidSignature):
        pub.verify(sig, b"messagf", fmt=SignatureFormat.RAW)
    with pytest.raises(InvalidSignature):
        pub.verify(sig, b"message", signer_id=b"", fmt=SignatureFormat.RAW)
    with pytest.raises(InvalidSignature):
        SM2PrivateKey.generate().public_key.verify(sig, b"message", fmt=SignatureFormat.RAW)


def test_custom_signer_id_must_match(sm2_key: SM2PrivateKey) -> None:
    sig = sm2_key.sign(b"m", signer_id="ALICE123@YAHOO.COM")
    sm2_key.public_key.verify(sig, b"m", signer_id=b"ALICE123@YAHOO.COM")
    with pytest.raises(InvalidSignature):
        sm2_key.public_key.verify(sig, b"m")


def test_malformed_der_signature_is_an_invalid_signature(sm2_key: SM2PrivateKey) -> None:
    der = sm2_key.sign(b"m")
    for bad in (b"", der[:-1], der + b"\x00", b"\x30\x00"):
        with pytest.raises(InvalidSignature):
            sm2_key.public_key.verify(bad, b"m")


def test_out_of_range_signature_values_are_refused(sm2_key: SM2PrivateKey) -> None:
    zero_r = (0).to_bytes(32, "big") + (5).to_bytes(32, "big")
    with pytest.raises(EncodingError):
        signature_to_raw(signature_to_der(zero_r))
    with pytest.raises(InvalidSignature):
        sm2_key.public_key.verify(signature_to_der(curve.N.to_bytes(32, "big") * 2), b"m")


def test_signature_encodings_convert(sm2_key: SM2PrivateKey) -> None:
    der = sm2_key.sign(b"m")
    raw = signature_to_raw(der)
    assert len(raw) == 64 and signature_to_der(raw) == der
    sm2_key.public_key.verify(raw, b"m", fmt=SignatureFormat.RAW)
    with pytest.raises(EncodingError):
        signature_to_der(raw[:63])


def test_digest_signing_matches_message_signing(sm2_key: SM2PrivateKey) -> None:
    pub = sm2_key.public_key
    e = pub.message_digest(b"data", signer_id=b"1234567812345678")
    pub.verify(sm2_key.sign_digest(e), b"data")  # a token's digest signature verifies as a message signature
    pub.verify_digest(sm2_key.sign(b"data"), e)
    with pytest.raises(InvalidSignature):
        pub.verify_digest(sm2_key.sign_digest(e), flip(e, 0))
    with pytest.raises(ValueError):
        sm2_key.sign_digest(e[:31])


def test_z_value_depends_on_id_and_key(sm2_key: SM2PrivateKey) -> None:
    pub = sm2_key.public_key
    assert pub.z_value() != pub.z_value(b"other")
    assert pub.z_value() != SM2PrivateKey.generate().public_key.z_value()


@settings(max_examples=40, deadline=None)
@given(message=st.binary(max_size=2048), signer_id=st.binary(min_size=0, max_size=64))
def test_sign_verify_round_trip_property(sm2_key: SM2PrivateKey, message: bytes, signer_id: bytes) -> None:
    for fmt in SignatureFormat:
        sig = sm2_key.sign(message, signer_id=signer_id, fmt=fmt)
        sm2_key.public_key.verify(sig, message, signer_id=signer_id, fmt=fmt)


# -- encryption ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(CiphertextFormat))
def test_encrypt_decrypt_each_format(sm2_key: SM2PrivateKey, fmt: CiphertextFormat) -> None:
    ct = sm2_key.public_key.encrypt(b"secret message", fmt)
    assert sm2_key.decrypt(ct, fmt) == b"secret message"


def test_ciphertext_layouts(sm2_key: SM2PrivateKey) -> None:
    der = sm2_key.public_key.encrypt(b"0123456789")
    parts = SM2Ciphertext.parse(der, CiphertextFormat.DER)
    c1c3c2 = convert_ciphertext(der, CiphertextFormat.DER, CiphertextFormat.C1C3C2)
    c1c2c3 = convert_ciphertext(der, CiphertextFormat.DER, CiphertextFormat.C1C2C3)
    assert c1c3c2 == parts.c1 + parts.c3 + b"" + parts.c2
    assert c1c2c3 == parts.c1 + parts.c2 + parts.c3
    assert len(parts.c2) == 10 and len(c1c3c2) == 65 + 32 + 10
    assert convert_ciphertext(c1c2c3, CiphertextFormat.C1C2C3, CiphertextFormat.DER) == der


@pytest.mark.parametrize("where", ["c1", "c3", "c2"])
def test_tampered_ciphertext_is_refused(sm2_key: SM2PrivateKey, where: str) -> None:
    ct = sm2_key.public_key.encrypt(b"secret message", CiphertextFormat.C1C3C2)
    index = {"c1": 40, "c3": 70, "c2": len(ct) - 1}[where]
    with pytest.raises(DecryptionError):
        sm2_key.decrypt(flip(ct, index), CiphertextFormat.C1C3C2)


def test_ciphertext_for_another_key_is_refused(sm2_key: SM2PrivateKey) -> None:
    ct = SM2PrivateKey.generate().public_key.encrypt(b"x")
    with pytest.raises(DecryptionError):
        sm2_key.decrypt(ct)


def test_wrong_layout_is_refused(sm2_key: SM2PrivateKey) -> None:
    ct = sm2_key.public_key.encrypt(b"0123456789abcdef0123456789abcdef!", CiphertextFormat.C1C3C2)
    with pytest.raises(DecryptionError):
        sm2_key.decrypt(ct, CiphertextFormat.C1C2C3)
    with pytest.raises(DecryptionError):
        sm2_key.decrypt(ct, CiphertextFormat.DER)
    with pytest.raises(DecryptionError):
        sm2_key.decrypt(ct[:90], CiphertextFormat.C1C3C2)


def test_empty_plaintext_is_refused(sm2_key: SM2PrivateKey) -> None:
    with pytest.raises(ValueError):
        sm2_key.public_key.encrypt(b"")


@settings(max_examples=30, deadline=None)
@given(message=st.binary(min_size=1, max_size=1024), fmt=st.sampled_from(list(CiphertextFormat)))
def test_encrypt_round_trip_property(sm2_key: SM2PrivateKey, message: bytes, fmt: CiphertextFormat) -> None:
    assert sm2_key.decrypt(sm2_key.public_key.encrypt(message, fmt), fmt) == message


# -- self-test -------------------------------------------------------------------------------


def test_self_test_catches_a_verifier_that_accepts_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "verify_message", lambda *a, **k: True)
    with pytest.raises(SelfTestFailed, match="altered message"):
        selftest.run_self_test()


def test_self_test_catches_wrong_decryption(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "decrypt", lambda *a, **k: b"wrong")
    with pytest.raises(SelfTestFailed, match="ciphertext"):
        selftest.run_self_test()


def test_self_test_catches_a_verifier_that_rejects_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "verify_message", lambda *a, **k: False)
    with pytest.raises(SelfTestFailed, match="does not verify"):
        selftest.run_self_test()
