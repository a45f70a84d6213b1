"""Child process of the crash tests: hammers one soft keystore until it is SIGKILLed.

Usage (CERTASSIST_HOME and the keyring come from the environment):
    python soft_crash_worker.py churn PIN_A PIN_B   keys, certificates and PIN changes, forever
    python soft_crash_worker.py guess WRONG_PIN     wrong PINs, printing each answer ("wrong N" / "locked")
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from drivers.model import KeyUsage
from drivers.soft import SoftBackend
from gm.sm2 import SM2PrivateKey, SM2PublicKey
from gm.x509 import build_certificate
from tests.conftest import FAST_KDF


def guess(wrong: str) -> None:
    from drivers.errors import PinIncorrect, PinLocked

    [device] = SoftBackend(kdf=FAST_KDF).devices()
    with device.open() as session:
        session.pin_info()  # loads the crypto and the keyring: the kills land among the guesses
        print("ready", flush=True)
        while True:
            try:
                session.login(wrong)
            except PinIncorrect as exc:
                print(f"wrong {exc.retries_left}", flush=True)
            except PinLocked:
                print("locked", flush=True)
                time.sleep(60)


def churn(pins: List[str]) -> None:
    [device] = SoftBackend(kdf=FAST_KDF).devices()
    ca_key = SM2PrivateKey.generate()
    with device.open() as session:
        current = next(p for p in pins if _try_login(session, p))
        print("ready", flush=True)
        while True:
            op = random.choice(("keygen", "certificate", "pin"))
            if op == "keygen":
                session.generate_key("c")
            elif op == "certificate":
                public = SM2PublicKey.from_der(session.public_key_der("c"))
                cert = build_certificate(
                    subject={"common_name": "crash"},
                    public_key=public,
                    issuer_key=ca_key,
                    issuer=None if public == ca_key.public_key else _ca(ca_key),
                    not_after=datetime.now(timezone.utc) + timedelta(days=1),
                )
                session.write_certificate("c", KeyUsage.SIGN, cert)
            else:
                new = pins[1] if current == pins[0] else pins[0]
                session.change_pin(current, new)
                current = new


_CA_CACHE: dict = {}


def _ca(key: SM2PrivateKey):  # type: ignore[no-untyped-def]
    if "ca" not in _CA_CACHE:
        _CA_CACHE["ca"] = build_certificate(
            subject={"common_name": "crash CA"},
            public_key=key.public_key,
            issuer_key=key,
            not_after=datetime.now(timezone.utc) + timedelta(days=2),
            ca=True,
            key_usage={"key_cert_sign", "crl_sign"},
        )
    return _CA_CACHE["ca"]


def _try_login(session, pin: str) -> bool:  # type: ignore[no-untyped-def]
    from drivers.errors import PinIncorrect

    try:
        session.login(pin)
    except PinIncorrect:
        return False
    return True


if __name__ == "__main__":
    if sys.argv[1] == "guess":
        guess(sys.argv[2])
    else:
        churn(sys.argv[2:4])
