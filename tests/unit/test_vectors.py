"""Published GM/T known-answer vectors, read by the one loader (gm.kat), plus the runtime self-test."""

from __future__ import annotations

import pytest

from gm import sm4
from gm.errors import DecryptionError, InvalidSignature
from gm.kat import load_vectors, unhex
from gm.selftest import run_self_test
from gm.sm2 import CiphertextFormat, SignatureFormat, SM2PrivateKey, SM2PublicKey
from gm.sm3 import SM3, hmac_sm3, sm3

SM3_VECTORS = load_vectors("sm3")["hash"]
SM4_VECTORS = load_vectors("sm4")["ecb"]
SM2 = load_vectors("sm2")


@pytest.mark.parametrize("case", SM3_VECTORS, ids=lambda c: c["digest"][:8])
def test_sm3_published_vectors(case: dict) -> None:
    assert sm3(unhex(case["message"])) == unhex(case["digest"])
    incremental = SM3()
    for byte in unhex(case["message"]):
        incremental.update(bytes([byte]))
    assert incremental.digest() == unhex(case["digest"])


def test_sm3_differs_on_one_bit() -> None:
    message = unhex(SM3_VECTORS[0]["message"])
    assert sm3(message[:-1] + bytes([message[-1] ^ 1])) != unhex(SM3_VECTORS[0]["digest"])


def test_hmac_sm3_rfc2104_construction() -> None:
    # HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)) with a 64-byte block: checks the library's wiring.
    key, message = b"key", b"The quick brown fox jumps over the lazy dog"
    block = key.ljust(64, b"\0")
    inner = sm3(bytes(b ^ 0x36 for b in block) + message)
    assert hmac_sm3(key, message) == sm3(bytes(b ^ 0x5C for b in block) + inner)


@pytest.mark.parametrize("case", SM4_VECTORS, ids=lambda c: f"iterations={c['iterations']}")
def test_sm4_published_vectors(case: dict) -> None:
    key, block = unhex(case["key"]), unhex(case["plaintext"])
    for _ in range(case["iterations"]):
        block = sm4.ecb_encrypt(key, block)
    assert block == unhex(case["ciphertext"])
    if case["iterations"] == 1:
        assert sm4.ecb_decrypt(key, block) == unhex(case["plaintext"])


def test_sm2_published_signature_verifies() -> None:
    pub = SM2PublicKey.from_raw(unhex(SM2["key"]["public_key"]))
    sig = SM2["signature"]
    raw = unhex(sig["r"]) + unhex(sig["s"])
    pub.verify(raw, unhex(sig["message"]), unhex(sig["signer_id"]), SignatureFormat.RAW)
    with pytest.raises(InvalidSignature):
        pub.verify(raw, unhex(sig["message"]), b"ALICE123@YAHOO.COM", SignatureFormat.RAW)
    with pytest.raises(InvalidSignature):
        pub.verify(
            raw[:-1] + bytes([raw[-1] ^ 1]),
            unhex(sig["message"]),
            unhex(sig["signer_id"]),
            SignatureFormat.RAW,
        )


def test_sm2_published_key_pair_matches() -> None:
    key = SM2PrivateKey.from_raw(unhex(SM2["key"]["private_key"]))
    assert key.public_key.to_raw() == unhex(SM2["key"]["public_key"])


def test_sm2_published_ciphertext_decrypts() -> None:
    key = SM2PrivateKey.from_raw(unhex(SM2["key"]["private_key"]))
    ct = unhex(SM2["encryption"]["ciphertext_c1c3c2"])
    assert key.decrypt(ct, CiphertextFormat.C1C3C2) == unhex(SM2["encryption"]["message"])
    with pytest.raises(DecryptionError):
        key.decrypt(ct[:-1] + bytes([ct[-1] ^ 1]), CiphertextFormat.C1C3C2)


def test_runtime_self_test_passes() -> None:
    run_self_test()
