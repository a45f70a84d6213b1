"""The tray's procedures (app.flows) end to end: real soft keystores, the real service, mail via SMTP."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from sqlalchemy import func, select

from app import entries, flows
from app.api_client import ApiError, IssuingClient, ServiceUnavailable
from drivers.errors import KeystoreTampered, NotSupported, PinIncorrect, PinLocked, PinTooWeak
from drivers.soft import SoftBackend
from gm.x509 import CRL
from server import models
from tests.conftest import FAST_KDF
from tests.server.conftest import CAPTCHA, PUBLIC_URL, Server, ServerFactory, issuance_code, new_user

PIN = "480362"


@pytest.fixture()
def database_url(tmp_path: Path) -> str:  # these flows are about the client: SQLite is enough here
    return f"sqlite:///{tmp_path / 'server.db'}"


class FlakyHttp:
    """Delegates to the real client; drops the connection once, before or after the service answered."""

    def __init__(self, inner: Any, path: str, after: bool) -> None:
        self.inner, self.path, self.after, self.tripped = inner, path, after, False

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        if url == self.path and not self.tripped:
            self.tripped = True
            if self.after:
                self.inner.request(method, url, **kwargs)  # the service did the work; the answer is lost
            raise httpx.ConnectError("connection reset")
        return self.inner.request(method, url, **kwargs)

    def close(self) -> None:
        pass


def client_for(server: Server, http: Any = None) -> IssuingClient:
    return IssuingClient(PUBLIC_URL, http=http or server.client)  # requests go to the in-process service


def logged_in(server: Server, user: dict, http: Any = None) -> IssuingClient:
    """账号登录 and the issuance code from the approval mail, as the tray does before 证书签发."""
    client = client_for(server, http)
    captcha = client.captcha()
    assert captcha.image_png.startswith(b"\x89PNG")
    client.login_account(user["username"], user["applicant_name"], captcha.captcha_id, CAPTCHA)
    assert client.token is not None
    client.authorize_issuance(issuance_code(server, user, client.token))
    assert client.me().issuance_authorized
    return client


@pytest.fixture()
def backend() -> Iterator[SoftBackend]:
    yield SoftBackend(kdf=FAST_KDF)


def test_soft_certificate_lifecycle(make_server: ServerFactory, backend: SoftBackend) -> None:
    server = make_server(validity_days=20)  # inside the 30-day renewal window from the start
    user = new_user(server)
    client = logged_in(server, user)
    messages = []
    _device, pair = flows.issue_soft(client, backend, user["username"], PIN, PIN, progress=messages.append)
    assert "证书助手正在签发证书，请耐心等待" in messages
    [entry], problems = entries.list_certificates(backend.devices())
    assert problems == [] and entry.subject == "张三" and "Issuing CA G1" in entry.issuer
    assert entry.sign == pair.sign and entry.encryption == pair.encryption
    assert 18 <= entry.days_left <= 20

    cert_client = client_for(server)
    login = flows.certificate_login(cert_client, entry, PIN)
    assert login.certificate is not None and login.certificate.renewal_allowed is True
    with pytest.raises(PinIncorrect):
        flows.certificate_login(client_for(server), entry, "000000")

    with pytest.raises(PinTooWeak):
        flows.change_pin(entry, PIN, "654321", "654321")
    flows.change_pin(entry, PIN, "739146", "739146")
    updated = flows.update(cert_client, entry, user["username"], "739146")
    [renewed], _ = entries.list_certificates(backend.devices())
    assert renewed.sign == updated.sign and renewed.container != entry.container  # old container removed
    # the old certificate's login ended with it; the client logged in again with the new one (no second PIN)
    now = cert_client.me()
    assert now.certificate is not None and now.certificate.serial == renewed.serial
    crl = CRL.from_der(server.api("GET", "/crl/issuing-g1.crl").content)
    assert crl.is_revoked(entry.sign.serial_number) is not None

    # forget the PIN: 10 wrong tries lock it; the mailed unlock code restores it
    for _ in range(9):
        with pytest.raises(PinIncorrect):
            flows.change_pin(renewed, "999999", "581937", "581937")
    with pytest.raises(PinLocked):
        flows.change_pin(renewed, "999999", "581937", "581937")
    request = flows.unlock_request(client_for(server), renewed)
    assert request.holder == "张三（签名证书）"
    body = server.smtp.inbox.body(server.smtp.inbox.wait_for(user["email"], "解锁码"))
    code = re.search(r"解锁码：(\d{8})", body).group(1)  # type: ignore[union-attr]
    with pytest.raises(ApiError) as wrong:
        flows.unlock_complete(client_for(server), renewed, request.unlock_id, "00000000", "260491", "260491")
    assert wrong.value.message == "解锁码错误，还可以尝试4次"
    with pytest.raises(PinTooWeak):  # refused before the code is sent: it still works below
        flows.unlock_complete(client_for(server), renewed, request.unlock_id, code, "222222", "222222")
    flows.unlock_complete(client_for(server), renewed, request.unlock_id, code, "260491", "260491")
    again = client_for(server)
    flows.certificate_login(again, renewed, "260491")

    flows.revoke(again, renewed, "260491")
    assert backend.devices() == []  # the emptied soft keystore is gone
    crl = CRL.from_der(server.api("GET", "/crl/issuing-g1.crl").content)
    assert crl.is_revoked(renewed.sign.serial_number) is not None


@pytest.mark.parametrize("after", [False, True], ids=["before-the-service", "after-the-service-answered"])
def test_dropped_connection_is_completed_on_retry(server: Server, backend: SoftBackend, after: bool) -> None:
    user = new_user(server)
    flaky = FlakyHttp(server.client, "/api/v1/certificates/issue", after=after)
    client = logged_in(server, user, http=flaky)
    with pytest.raises(ServiceUnavailable) as dropped:
        flows.issue_soft(client, backend, user["username"], PIN, PIN)
    assert "代理服务" in str(dropped.value)
    listed, _ = entries.list_certificates(backend.devices())
    assert listed == []  # nothing half-written is offered as a certificate
    _device, pair = flows.issue_soft(client, backend, user["username"], PIN, PIN)
    assert len(backend.devices()) == 1  # the interrupted keystore was resumed, not duplicated
    [entry], _ = entries.list_certificates(backend.devices())
    assert entry.sign == pair.sign
    with server.service.db.session() as session:
        assert session.scalar(select(func.count()).select_from(models.Certificate)) == 2
    # and the resumed keystore's admin credential was escrowed: unlock works
    request = flows.unlock_request(client_for(server), entry)
    code = re.search(
        r"解锁码：(\d{8})",
        server.smtp.inbox.body(  # type: ignore[union-attr]
            server.smtp.inbox.wait_for(user["email"], "解锁码")
        ),
    ).group(1)
    flows.unlock_complete(client_for(server), entry, request.unlock_id, code, "246810", "246810")
    flows.certificate_login(client_for(server), entry, "246810")


def test_a_tampered_interrupted_keystore_does_not_block_issuance(server: Server, backend: SoftBackend) -> None:
    user = new_user(server)
    client = logged_in(server, user, http=FlakyHttp(server.client, "/api/v1/certificates/issue", after=False))
    with pytest.raises(ServiceUnavailable):
        flows.issue_soft(client, backend, user["username"], PIN, PIN)
    [pending] = backend.devices()
    path = Path(pending.info.detail)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["pin"]["max_retries"] = 1000  # edited by hand: refused from now on
    path.write_text(json.dumps(document), encoding="utf-8")
    device, pair = flows.issue_soft(client, backend, user["username"], PIN, PIN)
    assert device.info.serial != pending.info.serial and len(backend.devices()) == 2
    [entry], problems = entries.list_certificates(backend.devices())
    [(broken, problem)] = problems
    assert entry.sign == pair.sign and broken.info.serial == pending.info.serial
    assert isinstance(problem, KeystoreTampered) and "changed outside CertAssist" in str(problem)


def test_new_pin_rules_before_anything(server: Server, backend: SoftBackend) -> None:
    user = new_user(server)
    client = logged_in(server, user)
    from drivers.errors import PinLengthInvalid, PinMismatch

    with pytest.raises(PinMismatch):
        flows.issue_soft(client, backend, user["username"], "123456", "123457")
    with pytest.raises(PinLengthInvalid):
        flows.issue_soft(client, backend, user["username"], "12345", "12345")
    with pytest.raises(PinTooWeak):
        flows.issue_soft(client, backend, user["username"], "123456", "123456")
    assert backend.devices() == []


def test_hard_key_without_sm2_is_refused_up_front(server: Server, softhsm: Any) -> None:
    from drivers.pkcs11 import Pkcs11Backend
    from tests.softhsm import USER_PIN

    label = softhsm.new_token()
    [device] = [d for d in Pkcs11Backend([softhsm.module]).devices() if d.info.label == label]
    user = new_user(server)
    client = logged_in(server, user)
    with pytest.raises(NotSupported, match="SM2"):
        flows.issue_hard(client, device, user["username"], USER_PIN)
    with device.open() as session:
        assert session.containers() == []


def test_service_down_names_the_proxy_settings() -> None:
    client = IssuingClient("http://127.0.0.1:9", timeout=2)
    with pytest.raises(ServiceUnavailable) as info:
        client.captcha()
    assert "代理服务" in str(info.value) and "127.0.0.1:9" in str(info.value)
