"""证书签发 needs a secret only the holder has (issue 13.3): the mailed issuance code or the account password,
rate-limited, stored hashed, single use, expiring, re-sendable; an account login alone issues nothing."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Any, List, Optional, cast

from fastapi.testclient import TestClient
from sqlalchemy import select

from gm.sm2 import SM2PrivateKey
from server import mail, models
from server.domain import OneTimeKind
from server.issuance.codes import new_code_text
from tests.peers import Inbox, SmtpServer
from tests.server.conftest import (
    Server,
    ServerFactory,
    account_login,
    certificate_login,
    csr_for,
    issuance_code,
    issue,
    mailed_issuance_codes,
    new_user,
    unb64,
)

AUTHORIZE = "/api/v1/account/issuance-authorization"


def _issue(server: Server, token: str) -> Any:
    return server.api("POST", "/api/v1/certificates/issue", token, json={"csr": csr_for(SM2PrivateKey.generate())})


def test_an_account_login_alone_issues_nothing(server: Server) -> None:
    """Username + 申请人名称 + captcha (all a stranger can know or solve) does not issue a certificate."""
    user = new_user(server)
    token = account_login(server, user)
    assert server.api("GET", "/api/v1/me", token).json()["issuance_authorized"] is False
    refused = _issue(server, token)
    assert refused.status_code == 403 and refused.json()["error"] == "issuance_secret_required"
    assert "签发码" in refused.json()["message"]
    wrong = server.api("POST", AUTHORIZE, token, json={"secret": "AAAA-AAAA-AAAA-AAAA"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "issuance_secret_wrong"
    assert _issue(server, token).status_code == 403


def test_the_mailed_code_opens_one_issuance(server: Server) -> None:
    user = new_user(server)
    token = account_login(server, user)
    [code] = [issuance_code(server, user, token)]
    assert code in server.smtp.inbox.body(server.smtp.inbox.wait_for(user["email"], "账号审核通过"))
    typed = code.lower().replace("-", " ")  # as people copy it: case and separators do not matter
    assert server.api("POST", AUTHORIZE, token, json={"secret": typed}).status_code == 204
    assert server.api("GET", "/api/v1/me", token).json()["issuance_authorized"] is True
    assert _issue(server, token).status_code == 200
    with server.service.db.session() as session:  # stored hashed only
        stored = [r.secret_hash for r in session.scalars(select(models.OneTimeSecret))]
    assert all(code not in value and code.replace("-", "") not in value for value in stored)
    # spent: not again, not in another session, even after the operator opens issuance again
    server.service.accounts.set_flags(user["username"], may_issue=True)  # mails a new code
    other = account_login(server, user)
    reused = server.api("POST", AUTHORIZE, other, json={"secret": code})
    assert reused.status_code == 400
    assert server.api("POST", AUTHORIZE, other, json={"secret": issuance_code(server, user, other)}).status_code == 204


def test_an_expired_code_is_refused(make_server: ServerFactory) -> None:
    server = make_server(issuance_code_ttl_s=0)
    user = new_user(server)
    token = account_login(server, user)
    expired = server.api("POST", AUTHORIZE, token, json={"secret": issuance_code(server, user, token)})
    assert expired.status_code == 400 and expired.json()["error"] == "issuance_secret_wrong"


def test_a_new_code_on_request_keeps_the_old_one_and_is_rate_limited(server: Server) -> None:
    user = new_user(server)
    token = account_login(server, user)
    old = issuance_code(server, user, token)
    sent = server.api("POST", "/api/v1/account/issuance-code", token)
    assert sent.status_code == 200 and sent.json()["email"].endswith("@example.com")
    server.smtp.inbox.wait_for_count(user["email"], "签发码", 1)
    again = server.api("POST", "/api/v1/account/issuance-code", token)
    assert again.status_code == 429  # one mail per resend period
    new = server.smtp.inbox.wait_for_count(user["email"], "证书签发码", 1)
    assert len(mailed_issuance_codes(server, user["email"])) == 2 and new
    assert server.api("POST", AUTHORIZE, token, json={"secret": old}).status_code == 204  # a new code takes none away


class _ArrivingInbox(Inbox):
    """An inbox whose one mail lands right after the first look at it (the delivery worker was on its way)."""

    def __init__(self, directory: Path, arriving: bytes) -> None:
        super().__init__(directory)
        self._arriving: Optional[bytes] = arriving

    @property
    def messages(self) -> List[EmailMessage]:
        found = super().messages
        if self._arriving is not None:
            (self.directory / "000001.eml").write_bytes(self._arriving)
            self._arriving = None
        return found


class _NoResend:
    def request(self, method: str, path: str, **_kwargs: Any) -> Any:
        raise AssertionError(f"asked for a new code: {method} {path}")


def test_the_helper_takes_an_approval_code_that_lands_while_it_looks(tmp_path: Path) -> None:
    """tests.server.conftest.issuance_code: an approval mail arriving between two looks at the inbox is taken; the
    helper asks for no new code, which would spend the account's one resend of the period (the rate-limit test
    above got 429 for its own resend on a loaded machine)."""
    code = new_code_text()
    subject, body = mail.approval_mail("张三", "arriving", code, 30)
    message = mail.build_message("证书助手 <noreply@example.com>", "arriving@example.com", subject, body, "m1")
    smtp = SmtpServer(tmp_path)
    smtp.inbox = _ArrivingInbox(tmp_path, message.as_bytes())
    server = Server(cast(Any, None), cast(Any, _NoResend()), smtp)
    assert issuance_code(server, {"email": "arriving@example.com"}, "token") == code


def test_the_account_password_works_too(server: Server) -> None:
    user = new_user(server)
    key, body = issue(server, user)
    cert_token = certificate_login(server, key, unb64(body["sign_certificate"]))
    assert (
        server.api("PUT", "/api/v1/account/password", cert_token, json={"password": "holder's passphrase"}).status_code
        == 204
    )
    assert server.api("POST", "/api/v1/certificates/revoke", cert_token, json={}).status_code == 200
    token = account_login(server, user)
    assert server.api("POST", AUTHORIZE, token, json={"secret": "wrong passphrase"}).status_code == 400
    assert server.api("POST", AUTHORIZE, token, json={"secret": "holder's passphrase"}).status_code == 204
    assert _issue(server, token).status_code == 200


def test_a_stranger_guessing_cannot_shut_the_holder_out(server: Server) -> None:
    user = new_user(server)
    attacker = TestClient(server.client.app, client=("203.0.113.66", 40000))
    holder = TestClient(server.client.app, client=("198.51.100.7", 50000))

    def login(client: TestClient) -> str:
        captcha_id = client.post("/api/v1/captcha").json()["captcha_id"]
        body = {
            **{k: user[k] for k in ("username", "applicant_name")},
            "captcha_id": captcha_id,
            "captcha_answer": "ACDE",
        }
        return str(client.post("/api/v1/login/account", json=body).json()["token"])

    bad = login(attacker)
    codes = [
        attacker.post(
            AUTHORIZE, json={"secret": f"AAAA-AAAA-AAAA-AA{i:02d}"}, headers={"Authorization": f"Bearer {bad}"}
        )
        for i in range(12)
    ]
    assert {c.status_code for c in codes[:10]} == {400} and codes[-1].status_code == 429
    good = login(holder)
    opened = holder.post(
        AUTHORIZE, json={"secret": issuance_code(server, user, good)}, headers={"Authorization": f"Bearer {good}"}
    )
    assert opened.status_code == 204, opened.text


def test_exchange_with_a_valid_certificate_needs_no_code(server: Server) -> None:
    user = new_user(server)
    key, body = issue(server, user)
    server.service.authority.rotate()
    server.service.accounts.set_flags(user["username"], exchange_required=True)
    refused = server.api(
        "POST",
        "/api/v1/certificates/exchange",
        account_login(server, user),
        json={"csr": csr_for(SM2PrivateKey.generate())},
    )
    assert refused.status_code == 403 and refused.json()["error"] == "issuance_secret_required"
    token = certificate_login(server, key, unb64(body["sign_certificate"]))  # proves the holder itself
    exchanged = server.api(
        "POST", "/api/v1/certificates/exchange", token, json={"csr": csr_for(SM2PrivateKey.generate())}
    )
    assert exchanged.status_code == 200, exchanged.text
    with server.service.db.session() as session:
        kinds = {r.kind for r in session.scalars(select(models.OneTimeSecret))}
    assert OneTimeKind.ISSUANCE in kinds
