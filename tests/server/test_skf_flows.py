"""A USB key end to end: the tray's procedures (app.flows) on a soft SKF key through drivers/skf and the real C
interface, against the real issuing service; the results checked with the OpenSSL command line."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import List

import pytest

from app import entries, flows
from drivers.errors import PinIncorrect
from drivers.model import KeyUsage
from drivers.skf import SkfBackend
from drivers.skf.driver import SkfDevice
from gm.x509 import CRL
from tests.server.conftest import Server, ServerFactory, new_user
from tests.server.test_app_flows import client_for, logged_in
from tests.softskf import USER_PIN, SoftSkf

pytestmark = pytest.mark.integration
NEW_PIN = "24681357"


@pytest.fixture()
def database_url(tmp_path: Path) -> str:  # the client is under test here: SQLite is enough
    return f"sqlite:///{tmp_path / 'server.db'}"


def openssl(openssl_bin: str, *args: str) -> str:
    result = subprocess.run([openssl_bin, *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def devices(softskf: SoftSkf) -> List[SkfDevice]:
    found = SkfBackend([str(softskf.library)]).devices()
    assert all(isinstance(d, SkfDevice) for d in found)
    return found  # type: ignore[return-value]


def test_issue_use_renew_and_revoke_on_a_usb_key(
    make_server: ServerFactory, softskf: SoftSkf, tmp_path: Path, openssl_bin: str
) -> None:
    server: Server = make_server(validity_days=20)  # inside the renewal window from the start
    user = new_user(server)
    [device] = devices(softskf)
    messages: List[str] = []
    pair = flows.issue_hard(logged_in(server, user), device, user["username"], USER_PIN, progress=messages.append)
    assert "证书助手正在签发证书，请耐心等待" in messages

    # what the key now holds, as the tray lists it
    [entry], problems = entries.list_certificates(devices(softskf))
    assert (
        problems == [] and entry.subject == "张三" and entry.sign == pair.sign and entry.encryption == pair.encryption
    )
    with entry.device.open() as session:
        assert session.pin_info().remaining == 10  # the key kept its PIN and every try
        assert session.public_key(entry.container, KeyUsage.ENCRYPT) == pair.encryption.public_key

    # the key signs, OpenSSL verifies with the issued certificate's public key
    (tmp_path / "sign.pem").write_bytes(pair.sign.to_pem())
    (tmp_path / "enc.pem").write_bytes(pair.encryption.to_pem())
    (tmp_path / "chain.pem").write_bytes(pair.chain_pem)
    for leaf in ("sign.pem", "enc.pem"):  # OpenSSL 3.0 applies the SM2 ID to the leaf only: check the last link
        checked = openssl(openssl_bin, "verify", "-vfyopt", "distid:1234567812345678", "-partial_chain",
                          "-CAfile", str(tmp_path / "chain.pem"), str(tmp_path / leaf))  # fmt: skip
        assert checked.strip().endswith(": OK")
    sign_pub = openssl(openssl_bin, "x509", "-in", str(tmp_path / "sign.pem"), "-pubkey", "-noout")
    (tmp_path / "sign_pub.pem").write_text(sign_pub)
    message = tmp_path / "document.txt"
    message.write_bytes("合同文本 signed on the USB key".encode())
    with entry.device.open() as session:
        session.login(USER_PIN)
        (tmp_path / "document.sig").write_bytes(session.sign(entry.container, message.read_bytes()))
    verified = openssl(
        openssl_bin, "dgst", "-sm3", "-verify", str(tmp_path / "sign_pub.pem"), "-sigopt", "distid:1234567812345678",
        "-signature", str(tmp_path / "document.sig"), str(message),
    )  # fmt: skip
    assert "Verified OK" in verified

    # OpenSSL encrypts to the escrowed encryption certificate; the key decrypts with the imported key
    enc_pub = openssl(openssl_bin, "x509", "-in", str(tmp_path / "enc.pem"), "-pubkey", "-noout")
    (tmp_path / "enc_pub.pem").write_text(enc_pub)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"session key for the encryption certificate")
    openssl(openssl_bin, "pkeyutl", "-encrypt", "-pubin", "-inkey", str(tmp_path / "enc_pub.pem"),
            "-in", str(secret), "-out", str(tmp_path / "secret.enc"))  # fmt: skip
    with entry.device.open() as session:
        session.login(USER_PIN)
        assert session.decrypt(entry.container, (tmp_path / "secret.enc").read_bytes()) == secret.read_bytes()

    # 证书登录, 修改PIN码, 证书更新 (a hard key keeps its PIN), 证书废除
    cert_client = client_for(server)
    with pytest.raises(PinIncorrect):
        flows.certificate_login(cert_client, entry, "00000000")
    login = flows.certificate_login(cert_client, entry, USER_PIN)
    assert login.certificate is not None and login.certificate.renewal_allowed is True
    flows.change_pin(entry, USER_PIN, NEW_PIN, NEW_PIN)
    updated = flows.update(cert_client, entry, user["username"], NEW_PIN)
    [renewed], _ = entries.list_certificates(devices(softskf))
    assert renewed.sign == updated.sign and renewed.container != entry.container  # the old container is gone
    with renewed.device.open() as session:
        assert [c.name for c in session.containers()] == [renewed.container]
    crl = CRL.from_der(server.api("GET", "/crl/issuing-g1.crl").content)
    assert crl.is_revoked(entry.sign.serial_number) is not None

    again = client_for(server)
    flows.certificate_login(again, renewed, NEW_PIN)
    flows.revoke(again, renewed, NEW_PIN)
    assert entries.list_certificates(devices(softskf)) == ([], [])
    assert len(devices(softskf)) == 1  # a USB key stays (only an emptied soft keystore is deleted)
    crl = CRL.from_der(server.api("GET", "/crl/issuing-g1.crl").content)
    assert crl.is_revoked(renewed.sign.serial_number) is not None
