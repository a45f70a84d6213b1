"""Child process of the crash test: hammers one soft keystore until it is SIGKILLed.

Usage: python soft_crash_worker.py PIN_A PIN_B  (CERTASSIST_HOME and the keyring come from the environment)
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from drivers.model import KeyUsage
from drivers.soft import SoftBackend
from gm.sm2 import SM2PrivateKey, SM2PublicKey
from gm.x509 import build_certificate
from tests.conftest import FAST_KDF


def main() -> None:
    pins = sys.argv[1:3]
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
    main()
