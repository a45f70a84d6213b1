"""Known-answer self-test of SM2 through libcrypto, run once before the first key operation.

Randomised algorithms cannot be checked against a fixed output, so the test verifies the published
signature, decrypts the published ciphertext, refuses an altered copy of each, and checks that a fresh
key pair signs and encrypts consistently (pairwise consistency, as FIPS 140 self-tests do).
"""

from __future__ import annotations

import threading

from gm.errors import CryptoUnavailable, GMError, SelfTestFailed
from gm.kat import load_vectors, unhex
from gm.sm2_codec import CiphertextFormat, convert_ciphertext, signature_to_der

_lock = threading.Lock()
_passed = threading.Event()


def run_self_test() -> None:
    """Run every check now; raise SelfTestFailed (or CryptoUnavailable) on the first failure."""
    from gm._native import sm2 as native

    vectors = load_vectors("sm2")
    key = vectors["key"]
    sig = vectors["signature"]
    enc = vectors["encryption"]

    public = native.from_public(unhex(key["public_key"]))
    private = native.from_private(unhex(key["private_key"]))
    if native.public_point(private) != unhex(key["public_key"]):
        raise SelfTestFailed("SM2 self-test: d·G does not match the published public key")

    der = signature_to_der(unhex(sig["r"]) + unhex(sig["s"]))
    message, signer_id = unhex(sig["message"]), unhex(sig["signer_id"])
    if not native.verify_message(public, message, der, signer_id):
        raise SelfTestFailed("SM2 self-test: the published GM/T 0003.5 signature does not verify")
    if native.verify_message(public, message + b"!", der, signer_id):
        raise SelfTestFailed("SM2 self-test: an altered message verified")

    ct = convert_ciphertext(unhex(enc["ciphertext_c1c3c2"]), CiphertextFormat.C1C3C2, CiphertextFormat.DER)
    if native.decrypt(private, ct) != unhex(enc["message"]):
        raise SelfTestFailed("SM2 self-test: the published GM/T 0003.5 ciphertext decrypts wrongly")
    tampered = bytearray(unhex(enc["ciphertext_c1c3c2"]))
    tampered[-1] ^= 1
    try:
        native.decrypt(private, convert_ciphertext(bytes(tampered), CiphertextFormat.C1C3C2, CiphertextFormat.DER))
    except GMError:
        pass
    else:
        raise SelfTestFailed("SM2 self-test: an altered ciphertext decrypted")

    fresh = native.generate()
    probe = b"certassist pairwise consistency"
    if not native.verify_message(fresh, probe, native.sign_message(fresh, probe, signer_id), signer_id):
        raise SelfTestFailed("SM2 self-test: a fresh key's signature does not verify")
    if native.decrypt(fresh, native.encrypt(fresh, probe)) != probe:
        raise SelfTestFailed("SM2 self-test: a fresh key's encryption does not round-trip")


def ensure_self_test() -> None:
    """Run the self-test once per process; later calls cost one flag check."""
    if _passed.is_set():
        return
    with _lock:
        if _passed.is_set():
            return
        try:
            run_self_test()
        except CryptoUnavailable:  # includes SelfTestFailed
            raise
        except GMError as exc:
            raise SelfTestFailed(f"SM2 self-test could not run: {exc}") from exc
        _passed.set()
