"""Writes the version 1 soft keystore of the migration test with the code that wrote version 1 files.

    git archive 55c6987 drivers gm resources tests/__init__.py tests/pki.py | tar -x -C /tmp/v1
    XDG_DATA_HOME=/tmp/v1/xdg PYTHONPATH=/tmp/v1 .venv/bin/python tests/unit/data/keystore_v1/make.py \
        tests/unit/data/keystore_v1

Result: ``<id>.cks`` (PIN 480362, 3 wrong tries spent, container 张三 with a signing key and certificate
and an imported encryption key and certificate) and ``record.json`` (the keyring entry: the device
secret as version 1 stored it, the container's public keys and the admin secret).
"""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import keyring
from keyrings.alt.file import PlaintextKeyring

from drivers.errors import PinIncorrect
from drivers.model import KeyUsage
from drivers.soft import SoftBackend
from gm.envelope import envelope_key
from gm.sm2 import SM2PrivateKey, SM2PublicKey
from gm.x509 import build_certificate
from tests.pki import make_pki

PIN = "480362"
FAST_KDF = {"name": "scrypt", "n": 1 << 10, "r": 8, "p": 1}


def main(out: Path) -> None:
    work = out / "work"
    keyring.set_keyring(PlaintextKeyring())
    backend = SoftBackend(directory=work, secrets_file=work / "secrets.json", kdf=FAST_KDF)
    device, admin = backend.create_device("软证书 张三", PIN)
    pki = make_pki()
    until = datetime.now(timezone.utc) + timedelta(days=3650)
    with device.open() as session:
        session.login(PIN)
        session.create_container("张三")
        sign_key = SM2PublicKey.from_der(session.generate_key("张三"))
        enc_key = SM2PrivateKey.generate()
        session.import_enveloped_key("张三", envelope_key(enc_key, sign_key))
        for usage, key in ((KeyUsage.SIGN, sign_key), (KeyUsage.ENCRYPT, enc_key.public_key)):
            cert = build_certificate(
                subject={"common_name": "张三"}, public_key=key, issuer=pki.ca, issuer_key=pki.ca_key, not_after=until
            )
            session.write_certificate("张三", usage, cert)
        session.logout()
        for _ in range(3):
            with contextlib.suppress(PinIncorrect):
                session.login("000000")
    keystore_id = device.info.serial
    (out / f"{keystore_id}.cks").write_bytes(Path(device.info.detail).read_bytes())
    record = {
        "keystore_id": keystore_id,
        "keyring_value": keyring.get_password("CertAssist soft keystore", keystore_id),
        "admin_secret": admin,
        "pin": PIN,
        "sign_public": sign_key.to_der().hex(),
        "encrypt_public": enc_key.public_key.to_der().hex(),
    }
    (out / "record.json").write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
    device.destroy()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
