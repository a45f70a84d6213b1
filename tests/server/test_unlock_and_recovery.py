"""证书解锁 by a mailed code, and recovery without traps (email and password by certificate login), on SQLite and
PostgreSQL with mail via real SMTP."""

from __future__ import annotations

import re
from typing import Any, Dict

from sqlalchemy import select

from gm.sm2 import SM2PrivateKey
from gm.x509 import Certificate
from server import models
from tests.server.conftest import (
    ADMIN,
    Server,
    ServerFactory,
    account_login,
    b64,
    certificate_login,
    csr_for,
    issue,
    new_user,
    unb64,
)

# -- unlock ------------------------------------------------------------------------------------


def unlock_code(server: Server, email: str) -> str:
    message = server.smtp.inbox.wait_for(email, "解锁码")
    match = re.search(r"解锁码：(\d{8})", server.smtp.inbox.body(message))
    assert match is not None
    return match.group(1)


def test_unlock_with_mailed_code(server: Server) -> None:
    user = new_user(server)
    _key, body = issue(server, user)
    cert = body["sign_certificate"]
    request = server.api("POST", "/api/v1/unlock/request", json={"certificate": cert}).json()
    assert request["email"].startswith(user["username"][0]) and request["holder"] == "张三（签名证书）"
    code = unlock_code(server, user["email"])
    wrong = server.api(
        "POST",
        "/api/v1/unlock/complete",
        json={"unlock_id": request["unlock_id"], "certificate": cert, "code": "00000000"},
    )
    assert wrong.status_code == 400 and wrong.json()["message"] == "解锁码错误，还可以尝试4次"
    other_user = new_user(server)
    _k2, other = issue(server, other_user)
    bound = server.api(
        "POST",
        "/api/v1/unlock/complete",
        json={"unlock_id": request["unlock_id"], "certificate": other["sign_certificate"], "code": code},
    )
    assert bound.status_code == 400  # the code belongs to one container only
    ok = server.api(
        "POST", "/api/v1/unlock/complete", json={"unlock_id": request["unlock_id"], "certificate": cert, "code": code}
    )
    assert ok.status_code == 200 and ok.json() == {"admin_credential": ADMIN}
    reused = server.api(
        "POST", "/api/v1/unlock/complete", json={"unlock_id": request["unlock_id"], "certificate": cert, "code": code}
    )
    assert reused.status_code == 400 and reused.json()["error"] == "unlock_code_invalid"
    with server.service.db.session() as session:
        log = " ".join(e.detail for e in session.scalars(select(models.AuditEvent)))
        events = {e.event for e in session.scalars(select(models.AuditEvent))}
    assert code not in log and ADMIN not in log
    assert {"unlock_code_sent", "unlock_code_wrong", "unlock_released"} <= events


def complete_unlock(server: Server, unlock_id: str, cert: str, code: str) -> Any:
    return server.api(
        "POST", "/api/v1/unlock/complete", json={"unlock_id": unlock_id, "certificate": cert, "code": code}
    )


def test_an_exhausted_ticket_and_the_code_mailed_once(server: Server) -> None:
    user = new_user(server)
    _key, body = issue(server, user)
    cert = body["sign_certificate"]
    first = server.api("POST", "/api/v1/unlock/request", json={"certificate": cert}).json()
    assert first["mailed"] is True
    code = unlock_code(server, user["email"])
    for _ in range(5):
        last = complete_unlock(server, first["unlock_id"], cert, "12345678")
    assert last.json()["error"] == "unlock_code_exhausted"
    late = complete_unlock(server, first["unlock_id"], cert, code)
    assert late.status_code == 400  # this ticket is dead, even for the right code
    second = server.api("POST", "/api/v1/unlock/request", json={"certificate": cert}).json()
    assert second["mailed"] is False and 0 < second["expires_in"] <= 1800  # the code already mailed serves it
    ok = complete_unlock(server, second["unlock_id"], cert, code)
    assert ok.status_code == 200 and ok.json() == {"admin_credential": ADMIN}
    third = server.api("POST", "/api/v1/unlock/request", json={"certificate": cert}).json()
    assert third["mailed"] is True  # the code was used: the next request gets a new one
    # mail goes out in order: the third request's code arrives second, so the second request mailed nothing
    assert len(server.smtp.inbox.wait_for_count(user["email"], "解锁码", 2)) == 2


def test_expired_unlock_code(make_server: ServerFactory) -> None:
    server = make_server(unlock_code_ttl_s=0)
    user = new_user(server)
    _key, body = issue(server, user)
    cert = body["sign_certificate"]
    request = server.api("POST", "/api/v1/unlock/request", json={"certificate": cert}).json()
    code = unlock_code(server, user["email"])
    expired = complete_unlock(server, request["unlock_id"], cert, code)
    assert expired.status_code == 400 and expired.json()["error"] == "unlock_code_expired"
    again = complete_unlock(server, request["unlock_id"], cert, code)
    assert again.json()["error"] == "unlock_code_invalid"  # spent by the late attempt


def test_unlock_needs_escrow_and_our_certificate(server: Server) -> None:
    user = new_user(server)
    _key, body = issue(server, user, admin="")
    response = server.api("POST", "/api/v1/unlock/request", json={"certificate": body["sign_certificate"]})
    assert response.status_code == 409 and response.json()["error"] == "no_admin_credential"
    from tests.pki import make_pki

    foreign = server.api("POST", "/api/v1/unlock/request", json={"certificate": b64(make_pki().leaf.to_der())})
    assert foreign.status_code == 404 and foreign.json()["error"] == "certificate_unknown"


# -- recovery without traps --------------------------------------------------------------------


def serial_of(body: Dict[str, Any]) -> str:
    return f"{Certificate.from_der(unb64(body['sign_certificate'])).serial_number:X}"


def test_a_usb_key_whose_admin_pin_did_not_change_keeps_its_escrow(make_server: ServerFactory) -> None:
    """证书更新 on the same key names the pair it replaces: the new pair keeps that escrowed admin credential (the
    key's admin PIN did not change), also when the answer was lost and the request comes again. The replaced
    certificate's sessions end with it (issue 13.1), so the request comes again with an account login: the
    service answers a request for a key it already issued a pair for with that pair, without a 签发码."""
    server = make_server(validity_days=20)  # inside the renewal window
    user = new_user(server)
    key, body = issue(server, user)
    assert body["admin_credential_escrowed"] is True
    token = certificate_login(server, key, unb64(body["sign_certificate"]))
    new_key = SM2PrivateKey.generate()
    request = {"csr": csr_for(new_key), "admin_credential_of": serial_of(body)}
    kept = server.api("POST", "/api/v1/certificates/update", token, json=request)
    assert kept.status_code == 200 and kept.json()["admin_credential_escrowed"] is True
    ended = server.api("POST", "/api/v1/certificates/update", token, json=request)
    assert ended.status_code == 401 and ended.json()["error"] == "session_invalid"
    again = server.api("POST", "/api/v1/certificates/issue", account_login(server, user), json=request)
    assert again.status_code == 200, again.text
    assert again.json()["sign_certificate"] == kept.json()["sign_certificate"]
    assert again.json()["admin_credential_escrowed"] is True
    new_cert = kept.json()["sign_certificate"]
    ticket = server.api("POST", "/api/v1/unlock/request", json={"certificate": new_cert}).json()
    released = complete_unlock(server, ticket["unlock_id"], new_cert, unlock_code(server, user["email"]))
    assert released.json() == {"admin_credential": ADMIN}


def test_only_the_accounts_own_escrow_is_kept(make_server: ServerFactory) -> None:
    server = make_server(validity_days=20)
    user, stranger = new_user(server), new_user(server)
    key, body = issue(server, user)
    _other_key, other = issue(server, stranger, admin="strangers-admin-pin")
    token = certificate_login(server, key, unb64(body["sign_certificate"]))
    both = {"csr": csr_for(SM2PrivateKey.generate()), "admin_credential": "x", "admin_credential_of": serial_of(body)}
    assert server.api("POST", "/api/v1/certificates/update", token, json=both).status_code == 422
    foreign = {"csr": csr_for(SM2PrivateKey.generate()), "admin_credential_of": serial_of(other)}
    renewed = server.api("POST", "/api/v1/certificates/update", token, json=foreign)
    assert renewed.status_code == 200 and renewed.json()["admin_credential_escrowed"] is False
    cert = renewed.json()["sign_certificate"]
    refused = server.api("POST", "/api/v1/unlock/request", json={"certificate": cert})
    assert refused.status_code == 409 and refused.json()["error"] == "no_admin_credential"


def test_email_and_password_by_certificate_login(server: Server) -> None:
    user = new_user(server)
    key, body = issue(server, user)
    account_token = account_login(server, user)
    refused = server.api("PUT", "/api/v1/account/email", account_token, json={"email": "new@example.com"})
    assert refused.status_code == 403 and "证书登录" in refused.json()["message"]
    token = certificate_login(server, key, unb64(body["sign_certificate"]))
    changed = server.api("PUT", "/api/v1/account/email", token, json={"email": "new@example.com"})
    assert changed.status_code == 200 and changed.json()["email"] == "n***w@example.com"
    server.smtp.inbox.wait_for(user["email"], "注册邮箱已变更")  # the old address is told too
    server.smtp.inbox.wait_for("new@example.com", "注册邮箱已变更")
    assert server.api("PUT", "/api/v1/account/password", token, json={"password": "短"}).status_code == 422
    assert (
        server.api("PUT", "/api/v1/account/password", token, json={"password": "a good passphrase"}).status_code == 204
    )
    assert server.service.recovery.verify_password(user["username"], "a good passphrase")
    assert not server.service.recovery.verify_password(user["username"], "wrong passphrase")
