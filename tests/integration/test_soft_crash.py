"""SIGKILL a process at random points while it uses a soft keystore.

- While it generates keys, writes certificates and changes the PIN: after every kill the keystore must
  open in the old or the new state (never refused as tampered or rolled back, though the file and its
  keyring record are written separately): readable, one of the two PINs works, every sealed key matches
  its public key, every stored certificate matches its key.
- While it guesses PINs: a kill at any point never buys a guess (every answer the guesser saw was paid
  for) and costs at most the one try in flight; the keystore always opens.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drivers.errors import PinIncorrect
from drivers.model import KeyUsage
from drivers.soft import SoftBackend
from drivers.soft.session import SoftSession
from gm.sm2 import SM2PublicKey
from tests.conftest import FAST_KDF

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ITERATIONS = int(os.environ.get("CERTASSIST_CRASH_ITERATIONS", "100"))
PINS = ("480362", "739146")
WRONG = "000000"
WORKER = Path(__file__).with_name("soft_crash_worker.py")


def check_consistent(session: SoftSession) -> None:
    for info in session.containers():
        if info.has_sign_key:
            private = session._private_key(info.name, KeyUsage.SIGN)  # raises if the pair does not match
            cert = session.read_certificate(info.name, KeyUsage.SIGN)
            if cert is not None:
                assert cert.public_key == private.public_key
                assert SM2PublicKey.from_der(session.public_key_der(info.name)) == cert.public_key


def login_with_either(session: SoftSession) -> str:
    for pin in PINS:
        try:
            session.login(pin)
            return pin
        except PinIncorrect:
            continue
    raise AssertionError("neither the old nor the new PIN opens the keystore")


def test_sigkill_never_breaks_the_keystore() -> None:
    backend = SoftBackend(kdf=FAST_KDF)
    device, _admin = backend.create_device("crash", PINS[0])
    with device.open() as session:
        session.login(PINS[0])
        session.create_container("c")
        session.generate_key("c")

    rng = random.Random(20261121)
    kills_mid_operation = 0
    pins_seen, keys_seen = set(), set()
    for _ in range(ITERATIONS):
        worker = subprocess.Popen(
            [sys.executable, str(WORKER), "churn", *PINS],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=os.environ.copy(),
        )
        assert worker.stdout is not None
        line = worker.stdout.readline()
        assert line.strip() == b"ready", worker.stderr.read() if worker.stderr else b""
        time.sleep(rng.uniform(0.0, 0.08))
        still_running = worker.poll() is None
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        assert still_running, f"worker died on its own: {worker.stderr.read() if worker.stderr else b''!r}"
        kills_mid_operation += 1

        [reopened] = SoftBackend(kdf=FAST_KDF).devices()
        assert type(reopened).__name__ == "SoftDevice", reopened.info.detail
        with reopened.open() as session:
            pins_seen.add(login_with_either(session))
            check_consistent(session)
            keys_seen.add(session.public_key_der("c"))
            assert session.pin_info().remaining == 10
        leftovers = list(Path(reopened.info.detail).parent.glob(".*.tmp"))
        assert leftovers == []
    assert kills_mid_operation == ITERATIONS
    # the workers really changed things between kills (else this test would prove nothing)
    assert pins_seen == set(PINS)
    assert len(keys_seen) > ITERATIONS // 4


def test_sigkill_while_guessing_never_buys_a_guess() -> None:
    backend = SoftBackend(kdf=FAST_KDF)
    _device, admin = backend.create_device("guess", PINS[0])
    rng = random.Random(20261130)
    in_flight, answered = 0, 0
    rounds = max(10, ITERATIONS // 2)
    for _ in range(rounds):
        [reopened] = SoftBackend(kdf=FAST_KDF).devices()
        with reopened.open() as session:
            if session.pin_info().locked:
                session.unblock_pin(admin, PINS[0])
            before = session.pin_info().remaining
        assert before is not None
        worker = subprocess.Popen(
            [sys.executable, str(WORKER), "guess", WRONG],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=os.environ.copy(),
        )
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == b"ready", worker.stderr.read() if worker.stderr else b""
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        answers = worker.stdout.read().decode().split()
        wrong = answers.count("wrong")
        [reopened] = SoftBackend(kdf=FAST_KDF).devices()
        with reopened.open() as session:  # never bricked, never refused
            after = session.pin_info().remaining
        assert after is not None
        spent = before - after
        assert spent >= wrong, f"{wrong} wrong answers seen but only {spent} tries spent: a kill bought a guess"
        assert spent <= wrong + 1, f"{spent} tries spent for {wrong} answers: more than the one in flight"
        in_flight += spent == wrong + 1
        answered += wrong > 0
        if "locked" in answers:
            assert after == 0
    # the kills landed both between answers and inside a check (else this test would prove little)
    assert in_flight > 0 and answered > rounds // 4
    [reopened] = SoftBackend(kdf=FAST_KDF).devices()
    with reopened.open() as session:
        if session.pin_info().locked:
            session.unblock_pin(admin, PINS[0])
        session.login(PINS[0])
