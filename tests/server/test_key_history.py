"""Renewal keeps earlier encryption keys; backups are audited; the KMC gives earlier keys back by certificate login.

Real soft keystores, the real service (SQLite here: these are the client's flows), app.flows and app.backup.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import select

from app import backup, entries, flows
from app.api_client import ApiError, IssuingClient
from app.backup_policy import AttemptLimiter
from drivers.errors import PinIncorrect
from drivers.soft import SoftBackend
from drivers.soft.session import SoftSession
from gm import pkcs12
from gm.errors import DecryptionError
from server import models
from server.keyhistory import RECOVERY_LIMIT
from tests.conftest import FAST_KDF
from tests.keystores import rebuilt_without_history
from tests.pki import make_pki
from tests.server.conftest import CAPTCHA, Server, ServerFactory, new_user
from tests.server.test_app_flows import client_for, logged_in

PIN = "480362"
PASSWORD = "Backup-Pass-2026"


@pytest.fixture()
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'server.db'}"


@pytest.fixture()
def backend() -> Iterator[SoftBackend]:
    yield SoftBackend(kdf=FAST_KDF)


def issued(server: Server, backend: SoftBackend) -> tuple[dict, entries.CertificateEntry]:
    user = new_user(server)
    client = logged_in(server, user)  # 账号登录 and the mailed issuance code
    flows.issue_soft(client, backend, user["username"], PIN, PIN)
    [entry], _ = entries.list_certificates(backend.devices())
    return user, entry


def renewed(
    server: Server, backend: SoftBackend, user: dict, entry: entries.CertificateEntry
) -> entries.CertificateEntry:
    client = client_for(server)
    flows.certificate_login(client, entry, PIN)
    flows.update(client, entry, user["username"], PIN)
    [entry], _ = entries.list_certificates(backend.devices())
    return entry


def events(server: Server) -> list[models.AuditEvent]:
    with server.service.db.session() as session:
        return list(session.scalars(select(models.AuditEvent)))


def test_a_file_encrypted_before_renewal_still_decrypts(make_server: ServerFactory, backend: SoftBackend) -> None:
    server = make_server(validity_days=20)  # inside the renewal window
    user, before = issued(server, backend)
    assert before.encryption is not None
    bid = before.encryption.public_key.encrypt(b"bid opened after the renewal")
    after = renewed(server, backend, user, before)
    assert after.container != before.container and after.encryption != before.encryption
    with after.device.open() as session:
        assert isinstance(session, SoftSession)
        [kept] = session.history()
        assert kept.certificate == before.encryption and kept.container == before.container
        session.login(PIN)
        with pytest.raises(DecryptionError):
            session.decrypt(after.container, bid)  # the current key alone cannot open it
        plaintext, container = session.decrypt_any(bid)
        assert plaintext == b"bid opened after the renewal" and container == before.container
        current = after.encryption
        assert current is not None
        assert session.decrypt_any(current.public_key.encrypt(b"new"))[0] == b"new"


def test_backup_and_restore_keep_the_history(make_server: ServerFactory, backend: SoftBackend, tmp_path: Path) -> None:
    server = make_server(validity_days=20)
    user, before = issued(server, backend)
    assert before.encryption is not None
    bid = before.encryption.public_key.encrypt(b"old bid")
    after = renewed(server, backend, user, before)
    target = tmp_path / "backup.pfx"
    chain = backup.issuing_chain(client_for(server), after.sign)
    assert [cert.is_self_issued for cert in chain] == [False, True]  # the issuing CA, then the root
    result = backup.make_backup(after.device, PIN, PASSWORD, PASSWORD, target, chain=chain)  # type: ignore[arg-type]
    assert result.containers == 1 and result.history == 1 and result.chain == 2
    assert pkcs12.load(target.read_bytes(), PASSWORD).certificates == chain
    backup.report_backup(client_for(server), after, PIN)
    [made] = [e for e in events(server) if e.event == "certificate_backup"]
    assert made.certificate_serial == after.serial and PASSWORD not in made.detail and PIN not in made.detail

    after.device.destroy()  # a new computer: the original keystore is gone
    assert backend.devices() == []
    restored = backup.restore_backup(
        backend, target.read_bytes(), PASSWORD, "739146", "739146", AttemptLimiter(tmp_path / "l")
    )
    assert restored.history == 1
    [entry], _ = entries.list_certificates(backend.devices())
    assert entry.sign == after.sign and entry.encryption == after.encryption
    backup.escrow_restored(client_for(server), entry, "739146", restored.admin_secret)
    with entry.device.open() as session:
        assert isinstance(session, SoftSession)
        session.login("739146")
        assert session.decrypt_any(bid)[0] == b"old bid"
    # the escrowed unblock secret is the restored keystore's: 证书解锁 works for it
    request = flows.unlock_request(client_for(server), entry)
    body = server.smtp.inbox.body(server.smtp.inbox.wait_for(user["email"], "解锁码"))
    code = re.search(r"解锁码：(\d{8})", body).group(1)  # type: ignore[union-attr]
    flows.unlock_complete(client_for(server), entry, request.unlock_id, code, "260491", "260491")
    flows.certificate_login(client_for(server), entry, "260491")


def test_the_chain_in_a_backup_is_the_one_that_issued_the_certificate(server: Server) -> None:
    """Another CA's certificate gets no chain from this service, and an unreachable service gives none."""
    stranger = make_pki().leaf
    assert backup.issuing_chain(client_for(server), stranger) == ()
    offline = IssuingClient("http://127.0.0.1:9", timeout=2.0)
    assert backup.issuing_chain(offline, stranger) == ()
    offline.close()


def test_the_kmc_gives_earlier_keys_back(make_server: ServerFactory, backend: SoftBackend, tmp_path: Path) -> None:
    server = make_server(validity_days=20)
    user, before = issued(server, backend)
    assert before.encryption is not None
    bid = before.encryption.public_key.encrypt(b"bid from last year")
    after = renewed(server, backend, user, before)
    # the keystore that had the history is lost; the current pair comes back from a backup made without history
    device = rebuilt_without_history(backend, after, "软证书 " + user["username"], PIN)
    with device.open() as session:
        session.login(PIN)
        with pytest.raises(DecryptionError):
            session.decrypt_any(bid)
    [entry], _ = entries.list_certificates(backend.devices())

    client = client_for(server)
    flows.certificate_login(client, entry, PIN)
    assert flows.recover_earlier_keys(client, entry, PIN) == 1
    assert flows.recover_earlier_keys(client, entry, PIN) == 0  # already kept: not added twice
    with entry.device.open() as session:
        assert isinstance(session, SoftSession)
        session.login(PIN)
        assert session.decrypt_any(bid)[0] == b"bid from last year"
    released = [e for e in events(server) if e.event == "earlier_keys_released"]
    assert len(released) == 2 and f"{before.encryption.serial_number:X}" in released[0].detail

    for _ in range(RECOVERY_LIMIT - 2):
        client.earlier_keys()
    with pytest.raises(ApiError) as limited:
        client.earlier_keys()
    assert limited.value.code == "rate_limited"


def test_earlier_keys_need_a_certificate_login(server: Server, backend: SoftBackend) -> None:
    user, _entry = issued(server, backend)
    client = client_for(server)
    captcha = client.captcha()
    client.login_account(user["username"], user["applicant_name"], captcha.captcha_id, CAPTCHA)
    with pytest.raises(ApiError) as refused:
        client.earlier_keys()  # an account login is not enough: the keys are for the holder of the certificate
    assert refused.value.status in (401, 403)
    with pytest.raises(ApiError):
        client.report_backup()


def test_a_keystore_restored_offline_gets_its_unblock_secret_escrowed_later(
    server: Server, backend: SoftBackend, tmp_path: Path
) -> None:
    """Restored while the service was out of reach: 证书解锁 fails until `token escrow` (escrow_again) ran."""
    user, entry = issued(server, backend)
    target = tmp_path / "backup.pfx"
    backup.make_backup(entry.device, PIN, PASSWORD, PASSWORD, target)  # type: ignore[arg-type]
    entry.device.destroy()  # type: ignore[attr-defined]
    backup.restore_backup(backend, target.read_bytes(), PASSWORD, "739146", "739146", AttemptLimiter(tmp_path / "l"))
    [restored], _ = entries.list_certificates(backend.devices())

    def unlock(new_pin: str) -> None:
        inbox = server.smtp.inbox
        mails = len(inbox.messages)
        request = flows.unlock_request(client_for(server), restored)
        deadline = time.monotonic() + 10
        while len(inbox.messages) == mails and time.monotonic() < deadline:
            time.sleep(0.02)
        [mail] = [m for m in inbox.messages[mails:] if m["To"] == user["email"] and "解锁码" in str(m["Subject"])]
        body = inbox.body(mail)
        code = re.search(r"解锁码：(\d{8})", body).group(1)  # type: ignore[union-attr]
        flows.unlock_complete(client_for(server), restored, request.unlock_id, code, new_pin, new_pin)

    with pytest.raises(PinIncorrect):  # the service still holds the lost keystore's unblock secret
        unlock("260491")
    with pytest.raises(PinIncorrect):
        backup.escrow_again(client_for(server), restored, "000000")
    backup.escrow_again(client_for(server), restored, "739146")
    unlock("260491")
    flows.certificate_login(client_for(server), restored, "260491")
