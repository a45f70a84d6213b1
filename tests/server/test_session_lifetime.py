"""A certificate login lasts only as long as its certificate (issue 13.1): 证书更新, 证书换发, 证书废除, the
operator's revocation and expiry end it, and every certificate-session endpoint checks the certificate."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict, Iterator, Optional

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gm.sm2 import SM2PrivateKey
from gm.x509 import Certificate
from server import models, security
from server.cli import main as server_cli
from server.domain import CertStatus, SessionKind
from tests.server.conftest import (
    Server,
    ServerFactory,
    account_login,
    certificate_login,
    csr_for,
    issue,
    issuing_login,
    new_user,
    unb64,
)


class Clock:
    """The service's clock (server.security.utcnow), moved by the test: no sleeping."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        clock = self

        class Shifted(datetime):
            @classmethod
            def now(cls, tz: Optional[Any] = None) -> Any:
                return datetime.now(tz) + clock.offset

        monkeypatch.setattr(security, "datetime", Shifted)


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    made = Clock()
    made.install(monkeypatch)
    yield made


def certificate_requests(server: Server, token: str) -> Dict[str, int]:
    """Every certificate-session operation but the two that end the pair, as the holder's session tries them."""
    answers = {
        "me": server.api("GET", "/api/v1/me", token),
        "email": server.api("PUT", "/api/v1/account/email", token, json={"email": "attacker@example.com"}),
        "password": server.api("PUT", "/api/v1/account/password", token, json={"password": "attacker's password"}),
        "escrow": server.api("PUT", "/api/v1/admin-credential", token, json={"admin_credential": "attacker-admin"}),
        "name": server.api("POST", "/api/v1/account/name-change", token, json={"new_name": "攻击者有限公司"}),
    }
    return {name: response.status_code for name, response in answers.items()}


DEAD = {"me": 401, "email": 401, "password": 401, "escrow": 401, "name": 401}


def assert_untouched(server: Server, username: str, email: str) -> None:
    details = server.service.accounts.show(username)
    assert details.pending_name is None and details.email.endswith("@example.com")
    with server.service.db.session() as session:
        account = session.scalar(select(models.Account).where(models.Account.username == username))
        assert account is not None and account.email == email and account.password_hash is None


def test_update_after_a_name_change_ends_the_old_certificates_sessions(server: Server) -> None:
    user = new_user(server, kind="legal")
    key, body = issue(server, user)
    old_token = certificate_login(server, key, unb64(body["sign_certificate"]))
    other_old = certificate_login(server, key, unb64(body["sign_certificate"]))  # e.g. a second computer
    server.service.accounts.request_name_change(user["username"], "某某知识产权代理有限公司")
    server.service.accounts.approve_name_change(user["username"])
    updated = server.api(
        "POST", "/api/v1/certificates/update", old_token, json={"csr": csr_for(SM2PrivateKey.generate())}
    )
    assert updated.status_code == 200, updated.text
    for token in (old_token, other_old):
        assert certificate_requests(server, token) == DEAD
    revoke = server.api("POST", "/api/v1/certificates/revoke", other_old, json={})
    assert revoke.status_code == 401
    assert_untouched(server, user["username"], user["email"])


def test_exchange_ends_the_old_certificates_sessions(server: Server) -> None:
    user = new_user(server)
    key, body = issue(server, user)
    old_token = certificate_login(server, key, unb64(body["sign_certificate"]))
    server.service.authority.rotate()
    server.service.accounts.set_flags(user["username"], exchange_required=True)
    exchanged = server.api(
        "POST",
        "/api/v1/certificates/exchange",
        issuing_login(server, user),
        json={"csr": csr_for(SM2PrivateKey.generate())},
    )
    assert exchanged.status_code == 200, exchanged.text
    assert certificate_requests(server, old_token) == DEAD
    assert_untouched(server, user["username"], user["email"])


def test_operator_revocation_ends_the_sessions(server: Server) -> None:
    user = new_user(server)
    key, body = issue(server, user)
    token = certificate_login(server, key, unb64(body["sign_certificate"]))
    serial = f"{Certificate.from_der(unb64(body['encryption_certificate'])).serial_number:X}"  # either of the pair
    config = server.service.config
    result = CliRunner().invoke(
        server_cli,
        ["--data-dir", str(config.data_dir), "--database-url", config.database_url,
         "certificate", "revoke", serial, "--reason", "key_compromise"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert certificate_requests(server, token) == DEAD
    assert_untouched(server, user["username"], user["email"])
    again = CliRunner().invoke(
        server_cli,
        ["--data-dir", str(config.data_dir), "--database-url", config.database_url, "certificate", "revoke", serial],
    )
    assert again.exit_code != 0 and "已经废除" in str(again.exception or again.output)
    issue(server, user)  # the holder is not stuck: a new pair by account login


def _expiring_holder(server: Server, clock: Clock, minutes_left: int) -> Dict[str, Any]:
    """A certificate issued "yesterday" with one day of validity: it expires ``minutes_left`` from now. The holder
    is approved "yesterday" too: the approval mail (with the issuance code) is posted on the service's clock, and
    the outbox worker delivers only mail whose time has come on that clock."""
    clock.offset = timedelta(minutes=minutes_left) - timedelta(days=1)
    user = new_user(server)
    key, body = issue(server, user)
    clock.offset = timedelta()
    return {"user": user, "key": key, "cert": unb64(body["sign_certificate"])}


def test_a_certificate_session_ends_when_the_certificate_expires(make_server: ServerFactory, clock: Clock) -> None:
    server = make_server(validity_days=1)
    holder = _expiring_holder(server, clock, minutes_left=10)
    token = certificate_login(server, holder["key"], holder["cert"])
    assert server.api("GET", "/api/v1/me", token).status_code == 200
    clock.offset = timedelta(minutes=11)  # within the session's 30 minutes, past the certificate's end
    assert certificate_requests(server, token) == DEAD
    assert_untouched(server, holder["user"]["username"], holder["user"]["email"])


def test_every_use_checks_the_certificate_also_for_a_session_opened_before(
    make_server: ServerFactory, clock: Clock
) -> None:
    """A session whose own end lies past its certificate's (one opened before sessions were capped) is refused
    by the check every certificate-session request makes."""
    server = make_server(validity_days=1)
    holder = _expiring_holder(server, clock, minutes_left=10)
    serial = f"{Certificate.from_der(holder['cert']).serial_number:X}"
    with server.service.db.session() as session:
        account_id = session.scalar(select(models.Certificate.account_id).where(models.Certificate.serial == serial))
        assert account_id is not None
        token = server.service.sessions.open(session, account_id, SessionKind.CERTIFICATE, serial)  # not capped
    clock.offset = timedelta(minutes=11)
    email = server.api("PUT", "/api/v1/account/email", token, json={"email": "attacker@example.com"})
    assert email.status_code == 401 and email.json()["error"] == "session_certificate_expired"
    assert "过期" in email.json()["message"]
    update = server.api("POST", "/api/v1/certificates/update", token, json={"csr": csr_for(SM2PrivateKey.generate())})
    assert update.status_code == 401  # the session was ended by the refusal
    assert_untouched(server, holder["user"]["username"], holder["user"]["email"])


def test_a_revoked_certificate_session_left_in_the_table_is_refused(server: Server) -> None:
    """Each check looks at the certificate itself, not only at whether the session row was deleted: the
    one dependency of the certificate-only endpoints, and the issuing paths that take any session."""
    user = new_user(server)
    key, body = issue(server, user)
    serial = f"{Certificate.from_der(unb64(body['sign_certificate'])).serial_number:X}"
    token = certificate_login(server, key, unb64(body["sign_certificate"]))
    server.service.accounts.set_flags(user["username"], exchange_required=True)
    with server.service.db.session() as session:  # revoked behind the sessions' back (e.g. an older process)
        row = session.scalar(select(models.Certificate).where(models.Certificate.serial == serial))
        assert row is not None
        row.status = CertStatus.REVOKED
    exchange = server.api(
        "POST", "/api/v1/certificates/exchange", token, json={"csr": csr_for(SM2PrivateKey.generate())}
    )
    assert exchange.status_code == 401 and exchange.json()["error"] == "session_certificate_revoked"
    email = server.api("PUT", "/api/v1/account/email", token, json={"email": "attacker@example.com"})
    assert email.status_code == 401 and email.json()["error"] == "session_certificate_revoked"
    assert_untouched(server, user["username"], user["email"])


def test_account_sessions_are_not_touched(server: Server) -> None:
    user = new_user(server)
    key, body = issue(server, user)
    account_token = account_login(server, user)
    cert_token = certificate_login(server, key, unb64(body["sign_certificate"]))
    assert server.api("POST", "/api/v1/certificates/revoke", cert_token, json={}).status_code == 200
    assert server.api("GET", "/api/v1/me", account_token).status_code == 200
