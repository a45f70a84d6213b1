"""gm.kdf: the same bytes as the standards' vectors and `cryptography`, and other threads run meanwhile."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Callable, List, Optional

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from gm import kdf


def test_scrypt_rfc7914_vector() -> None:
    derived = kdf.scrypt(b"password", b"NaCl", 1024, 8, 16, 64)
    assert derived.hex().startswith("fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162")


def test_pbkdf2_rfc6070_vector() -> None:
    assert kdf.pbkdf2_hmac("sha1", b"password", b"salt", 4096, 20).hex() == "4b007901b765489abead49d926f721d065a429c1"


@pytest.mark.parametrize("digest", ["sha256", "sm3"])
def test_pbkdf2_matches_cryptography(digest: str) -> None:
    algorithm = hashes.SHA256() if digest == "sha256" else hashes.SM3()
    expected = PBKDF2HMAC(algorithm, 24, b"salt" * 4, 1000).derive("口令".encode())
    assert kdf.pbkdf2_hmac(digest, "口令".encode(), b"salt" * 4, 1000, 24) == expected


def test_scrypt_matches_cryptography_with_the_keystore_parameters() -> None:
    expected = Scrypt(salt=b"s" * 16, length=32, n=1 << 16, r=8, p=1).derive(b"12345678")
    assert kdf.scrypt(b"12345678", b"s" * 16, 1 << 16, 8, 1, 32) == expected


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        kdf.scrypt(b"pin", b"salt", 1000, 8, 1, 32)  # n must be a power of 2
    with pytest.raises(ValueError):
        kdf.pbkdf2_hmac("no-such-digest", b"pw", b"salt", 1, 16)


def steps_per_second(derive: Optional[Callable[[], bytes]]) -> float:
    """How fast this thread counts while ``derive`` runs on another (or while that one sleeps 50 ms, with None)."""
    started, done = threading.Event(), threading.Event()
    took: List[float] = []

    def work() -> None:
        started.set()
        begin = time.perf_counter()
        if derive is None:
            time.sleep(0.05)
        else:
            derive()
        took.append(time.perf_counter() - begin)
        done.set()

    worker = threading.Thread(target=work)
    worker.start()
    started.wait()
    steps = 0
    while not done.is_set():
        steps += 1
    worker.join()
    return steps / took[0]


@pytest.mark.parametrize(
    "derive",
    [
        lambda: kdf.pbkdf2_hmac("sha256", b"backup password", b"s" * 16, 600_000, 16),
        lambda: kdf.scrypt(b"12345678", b"s" * 16, 1 << 16, 8, 1, 32),
    ],
    ids=["pbkdf2", "scrypt"],
)
def test_other_threads_run_during_a_derivation(derive: Callable[[], bytes]) -> None:
    """The tray derives on a worker: its GUI thread must go on meanwhile (with `cryptography` on Python 3.8 it
    counted at 1–5 % of its speed)."""
    alone = steps_per_second(None)
    assert steps_per_second(derive) > alone / 4


def test_without_hashlib_support_cryptography_derives_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """An interpreter whose OpenSSL lacks scrypt or a digest (SM3) still derives, through `cryptography`."""
    expected_pbkdf2 = kdf.pbkdf2_hmac("sm3", b"pw", b"salt" * 4, 1000, 16)
    expected_scrypt = kdf.scrypt(b"pw", b"salt" * 4, 1 << 10, 8, 1, 32)

    def no_such_digest(name: str, *_args: object) -> bytes:
        raise ValueError(f"unsupported hash type {name}")

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", no_such_digest)
    monkeypatch.delattr(hashlib, "scrypt")
    assert kdf.pbkdf2_hmac("sm3", b"pw", b"salt" * 4, 1000, 16) == expected_pbkdf2
    assert kdf.scrypt(b"pw", b"salt" * 4, 1 << 10, 8, 1, 32) == expected_scrypt
    with pytest.raises(ValueError):
        kdf.pbkdf2_hmac("md4", b"pw", b"salt", 1, 16)  # neither knows it
