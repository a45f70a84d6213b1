"""GM/T 0016 blobs and GM/T 0009 enveloped keys: layouts, round trips and refusals."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gm import skf
from gm.envelope import EnvelopedKey, envelope_key
from gm.errors import DecryptionError, EncodingError
from gm.sm2 import CiphertextFormat, SignatureFormat, SM2PrivateKey


def test_public_key_blob_layout(sm2_key: SM2PrivateKey) -> None:
    point = sm2_key.public_key.to_raw()
    blob = skf.EccPublicKeyBlob.from_point(point).to_bytes()
    assert len(blob) == 132
    assert struct.unpack_from("<I", blob)[0] == 256
    assert blob[4:36] == bytes(32) and blob[36:68] == point[1:33]  # right-aligned x
    assert blob[68:100] == bytes(32) and blob[100:] == point[33:]
    assert skf.EccPublicKeyBlob.from_bytes(blob).to_point() == point


def test_private_key_blob_hides_secret(sm2_key: SM2PrivateKey) -> None:
    blob = skf.EccPrivateKeyBlob(sm2_key.to_raw())
    assert sm2_key.to_raw().hex() not in repr(blob)
    assert skf.EccPrivateKeyBlob.from_bytes(blob.to_bytes()).d == sm2_key.to_raw()


def test_signature_blob_round_trip(sm2_key: SM2PrivateKey) -> None:
    raw = sm2_key.sign(b"m", fmt=SignatureFormat.RAW)
    blob = skf.EccSignatureBlob.from_raw(raw).to_bytes()
    assert len(blob) == 128
    parsed = skf.EccSignatureBlob.from_bytes(blob)
    sm2_key.public_key.verify(parsed.to_raw(), b"m", fmt=SignatureFormat.RAW)


def test_cipher_blob_round_trip(sm2_key: SM2PrivateKey) -> None:
    ct = sm2_key.public_key.encrypt(b"sixteen byte key", CiphertextFormat.C1C3C2)
    blob = skf.EccCipherBlob.from_c1c3c2(ct).to_bytes()
    assert len(blob) == 64 + 64 + 32 + 4 + 16
    assert struct.unpack_from("<I", blob, 160)[0] == 16
    assert (
        sm2_key.decrypt(skf.EccCipherBlob.from_bytes(blob).to_c1c3c2(), CiphertextFormat.C1C3C2) == b"sixteen byte key"
    )


@pytest.mark.parametrize(
    ("cls", "data"),
    [
        (skf.EccPublicKeyBlob, bytes(131)),
        (skf.EccPublicKeyBlob, struct.pack("<I", 512) + bytes(128)),
        (skf.EccSignatureBlob, bytes(127)),
        (skf.EccCipherBlob, bytes(100)),
        (skf.EccPrivateKeyBlob, bytes(67)),
    ],
)
def test_malformed_blobs_are_refused(cls: type, data: bytes) -> None:
    with pytest.raises(EncodingError):
        cls.from_bytes(data)


def test_value_wider_than_256_bits_is_refused() -> None:
    with pytest.raises(EncodingError, match="more than a 256-bit"):
        skf.unpad_field(b"\x01" + bytes(63))


def test_cipher_blob_length_beyond_data_is_refused(sm2_key: SM2PrivateKey) -> None:
    blob = skf.EccCipherBlob.from_c1c3c2(sm2_key.public_key.encrypt(b"k" * 16, CiphertextFormat.C1C3C2)).to_bytes()
    lying = blob[:160] + struct.pack("<I", 1000) + blob[164:]
    with pytest.raises(EncodingError, match="truncated"):
        skf.EccCipherBlob.from_bytes(lying)


def test_envelope_opens_with_the_signing_key_in_both_encodings(sm2_key: SM2PrivateKey) -> None:
    encryption_key = SM2PrivateKey.generate()
    env = envelope_key(encryption_key, sm2_key.public_key)
    for parsed in (EnvelopedKey.from_der(env.to_der()), EnvelopedKey.from_skf_blob(env.to_skf_blob())):
        opened = parsed.open(sm2_key)
        assert opened == encryption_key and opened.to_raw() == encryption_key.to_raw()


def test_envelope_skf_blob_layout(sm2_key: SM2PrivateKey) -> None:
    encryption_key = SM2PrivateKey.generate()
    blob = envelope_key(encryption_key, sm2_key.public_key).to_skf_blob()
    version, alg, bits = struct.unpack_from("<III", blob)
    assert (version, alg, bits) == (1, skf.SGD.SM4_ECB, 256)
    assert blob[12:44] == bytes(32)  # 32-byte encrypted scalar right-aligned in cbEncryptedPriKey[64]
    assert skf.EccPublicKeyBlob.from_bytes(blob[76:208]).to_point() == encryption_key.public_key.to_raw()
    assert len(blob) == 12 + 64 + 132 + 164 + 16


def test_envelope_accepts_left_aligned_private_key_field(sm2_key: SM2PrivateKey) -> None:
    encryption_key = SM2PrivateKey.generate()
    blob = envelope_key(encryption_key, sm2_key.public_key).to_skf_blob()
    left = blob[:12] + blob[44:76] + bytes(32) + blob[76:]
    assert EnvelopedKey.from_skf_blob(left).open(sm2_key) == encryption_key


def test_envelope_for_another_recipient_does_not_open(sm2_key: SM2PrivateKey) -> None:
    env = envelope_key(SM2PrivateKey.generate(), SM2PrivateKey.generate().public_key)
    with pytest.raises(DecryptionError):
        env.open(sm2_key)


def test_envelope_with_swapped_public_key_is_refused(sm2_key: SM2PrivateKey) -> None:
    env = envelope_key(SM2PrivateKey.generate(), sm2_key.public_key)
    forged = EnvelopedKey(SM2PrivateKey.generate().public_key, env.encrypted_private_key, env.encrypted_sym_key)
    with pytest.raises(DecryptionError, match="does not match"):
        forged.open(sm2_key)


def test_envelope_with_altered_private_key_is_refused(sm2_key: SM2PrivateKey) -> None:
    env = envelope_key(SM2PrivateKey.generate(), sm2_key.public_key)
    altered = bytes([env.encrypted_private_key[0] ^ 1]) + env.encrypted_private_key[1:]
    with pytest.raises(DecryptionError):
        EnvelopedKey(env.public_key, altered, env.encrypted_sym_key).open(sm2_key)


def test_envelope_der_garbage_and_wrong_algorithm_are_refused(sm2_key: SM2PrivateKey) -> None:
    with pytest.raises(EncodingError):
        EnvelopedKey.from_der(b"\x30\x03\x02\x01\x00")
    blob = envelope_key(SM2PrivateKey.generate(), sm2_key.public_key).to_skf_blob()
    with pytest.raises(EncodingError, match="not SM4-ECB"):
        EnvelopedKey.from_skf_blob(blob[:4] + struct.pack("<I", 0x402) + blob[8:])


@settings(max_examples=15, deadline=None)
@given(st.binary(min_size=1, max_size=200))
def test_cipher_blob_property(sm2_key: SM2PrivateKey, message: bytes) -> None:
    ct = sm2_key.public_key.encrypt(message, CiphertextFormat.C1C3C2)
    blob = skf.EccCipherBlob.from_c1c3c2(ct)
    assert skf.EccCipherBlob.from_bytes(blob.to_bytes()) == blob
