"""Every flow of the issuing service and every refusal, on SQLite and PostgreSQL, mail via real SMTP (unlock and
recovery: test_unlock_and_recovery.py)."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from anyio import to_thread
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from gm.envelope import EnvelopedKey
from gm.sm2 import SM2PrivateKey
from gm.x509 import CRL, Certificate, verify_chain
from server import models
from server.app import build_service
from tests.server.conftest import (
    CAPTCHA,
    Server,
    ServerFactory,
    account_login,
    b64,
    certificate_login,
    chain_of,
    csr_for,
    issue,
    new_user,
    signed_challenge,
    try_account_login,
    try_certificate_login,
    unb64,
)

# -- accounts and login ------------------------------------------------------------------------


def test_registration_approval_mail_and_pending_refusal(server: Server) -> None:
    response = server.api(
        "POST",
        "/api/v1/accounts",
        json={
            "username": "lisi",
            "applicant_name": "李四",
            "account_type": "natural",
            "id_number": "11010519491231002X",
            "email": "lisi@example.com",
        },
    )
    assert response.status_code == 201 and response.json()["status"] == "pending"
    assert response.json()["email"] == "l***i@example.com"
    captcha_id = server.api("POST", "/api/v1/captcha").json()["captcha_id"]
    refused = server.api(
        "POST",
        "/api/v1/login/account",
        json={"username": "lisi", "applicant_name": "李四", "captcha_id": captcha_id, "captcha_answer": CAPTCHA},
    )
    assert refused.status_code == 403 and refused.json()["error"] == "account_pending"
    server.service.accounts.approve("lisi")
    mail = server.smtp.inbox.wait_for("lisi@example.com", "账号审核通过")
    assert "证书签发" in server.smtp.inbox.body(mail)
    duplicate = server.api(
        "POST",
        "/api/v1/accounts",
        json={
            "username": "lisi",
            "applicant_name": "李四",
            "account_type": "natural",
            "id_number": "11010519491231002X",
            "email": "x@example.com",
        },
    )
    assert duplicate.status_code == 409


@pytest.mark.parametrize(
    ("kind", "number", "code"),
    [
        ("natural", "110105194912310021", "invalid_id_number"),
        ("legal", "91350100M000100Y44", "invalid_id_number"),
    ],
)
def test_registration_refuses_bad_identity_numbers(server: Server, kind: str, number: str, code: str) -> None:
    response = server.api(
        "POST",
        "/api/v1/accounts",
        json={"username": "bad1", "applicant_name": "X", "account_type": kind, "id_number": number, "email": "a@b.cn"},
    )
    assert response.status_code == 400 and response.json()["error"] == code
    assert "请核对" in response.json()["message"]


def test_captcha_image_wrong_answer_and_single_use(server: Server) -> None:
    user = new_user(server)
    first = server.api("POST", "/api/v1/captcha").json()
    assert unb64(first["image_png"]).startswith(b"\x89PNG")
    login = {"username": user["username"], "applicant_name": user["applicant_name"]}
    wrong = server.api(
        "POST", "/api/v1/login/account", json={**login, "captcha_id": first["captcha_id"], "captcha_answer": "ZZZZ"}
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "captcha_invalid"
    reused = server.api(
        "POST", "/api/v1/login/account", json={**login, "captcha_id": first["captcha_id"], "captcha_answer": CAPTCHA}
    )
    assert reused.status_code == 400  # a captcha is burnt by its first use, right or wrong


def test_expired_captcha(make_server: ServerFactory) -> None:
    server = make_server(captcha_ttl_s=0)
    user = new_user(server)
    response = try_account_login(server, user)
    assert response.status_code == 400 and response.json()["error"] == "captcha_invalid"


def test_wrong_name_then_lockout(server: Server) -> None:
    user = new_user(server)
    for _ in range(5):
        response = try_account_login(server, user, applicant_name="王五")
        assert response.status_code == 401 and response.json()["error"] == "login_failed"
    locked = try_account_login(server, user)
    assert locked.status_code == 429 and locked.json()["error"] == "account_locked"
    assert "分钟后再试" in locked.json()["message"] and int(locked.headers["Retry-After"]) > 0


def test_captcha_requests_are_rate_limited(server: Server) -> None:
    codes = [server.api("POST", "/api/v1/captcha").status_code for _ in range(61)]
    assert codes[:60] == [200] * 60 and codes[60] == 429


# -- issuance ----------------------------------------------------------------------------------


def test_issue_dual_certificates(server: Server) -> None:
    user = new_user(server, kind="legal")
    key, body = issue(server, user)
    sign = Certificate.from_der(unb64(body["sign_certificate"]))
    enc = Certificate.from_der(unb64(body["encryption_certificate"]))
    root, issuing = chain_of(server)
    verify_chain(sign, [root], issuing)
    verify_chain(enc, [root], issuing)
    assert sign.public_key == key.public_key
    # GM/T 0015 style: the applicant's name as CN and (an organisation) O, its type as OU, its code as serialNumber
    assert dict(sign.subject.native) == {
        "country_name": "CN",
        "organization_name": "某某商标代理有限公司",
        "organizational_unit_name": "法人",  # the account's type (new_user registers a legal person)
        "common_name": "某某商标代理有限公司",
        "serial_number": "91350100M000100Y43",
    }
    assert enc.subject.native == sign.subject.native
    assert sign.key_usage == frozenset({"digital_signature", "non_repudiation"})
    assert "key_encipherment" in (enc.key_usage or ())
    assert 5 * 365 - 2 <= sign.days_left() <= 5 * 365
    assert sign.crl_urls == ["http://127.0.0.1:8470/crl/issuing-g1.crl"]
    opened = EnvelopedKey.from_der(unb64(body["enveloped_key"])).open(key)
    assert opened.public_key == enc.public_key
    assert "BEGIN CERTIFICATE" in body["ca_chain_pem"]
    server.smtp.inbox.wait_for(user["email"], "签发成功")
    with server.service.db.session() as session:  # the KMC kept the key, sealed
        escrow = session.scalar(select(models.EscrowedKey))
        assert escrow is not None and opened.to_raw() not in escrow.sealed_key


def test_subject_of_a_natural_person(server: Server) -> None:
    user = new_user(server)
    _key, body = issue(server, user)
    sign = Certificate.from_der(unb64(body["sign_certificate"]))
    assert dict(sign.subject.native) == {
        "country_name": "CN",
        "organizational_unit_name": "自然人",
        "common_name": "张三",
        "serial_number": "11010519491231002X",
    }


def test_second_issue_and_bad_csr_are_refused(server: Server) -> None:
    user = new_user(server)
    issue(server, user)
    token = account_login(server, user)
    again = server.api("POST", "/api/v1/certificates/issue", token, json={"csr": csr_for(SM2PrivateKey.generate())})
    assert again.status_code == 403 and again.json()["error"] == "issue_not_allowed"
    other = new_user(server)
    token = account_login(server, other)
    csr = bytearray(unb64(csr_for(SM2PrivateKey.generate())))
    csr[-3] ^= 1
    bad = server.api("POST", "/api/v1/certificates/issue", token, json={"csr": b64(bytes(csr))})
    assert bad.status_code == 400 and bad.json()["error"] == "csr_invalid"
    garbage = server.api("POST", "/api/v1/certificates/issue", token, json={"csr": "not base64!"})
    assert garbage.status_code == 422 and garbage.json()["error"] == "invalid_request"
    anonymous = server.api("POST", "/api/v1/certificates/issue", json={"csr": csr_for(SM2PrivateKey.generate())})
    assert anonymous.status_code == 401


# -- certificate login -------------------------------------------------------------------------


def test_certificate_login_and_replayed_nonce(server: Server) -> None:
    user = new_user(server)
    key, body = issue(server, user)
    cert = unb64(body["sign_certificate"])
    token = certificate_login(server, key, cert)
    me = server.api("GET", "/api/v1/me", token).json()
    assert me["session"] == "certificate" and me["certificate"]["renewal_allowed"] is False
    challenge = server.api("POST", "/api/v1/login/challenge").json()
    payload = {
        "nonce_id": challenge["nonce_id"],
        "certificate": b64(cert),
        "signature": signed_challenge(key, challenge["nonce"]),
    }
    assert server.api("POST", "/api/v1/login/certificate", json=payload).status_code == 200
    replay = server.api("POST", "/api/v1/login/certificate", json=payload)
    assert replay.status_code == 401 and replay.json()["error"] == "nonce_invalid"
    forged = try_certificate_login(server, SM2PrivateKey.generate(), cert)
    assert forged.status_code == 401 and forged.json()["error"] == "signature_invalid"
    refused = try_certificate_login(server, key, unb64(body["encryption_certificate"]))
    assert refused.status_code == 400 and refused.json()["error"] == "not_signing_certificate"


def test_expired_nonce(make_server: ServerFactory) -> None:
    server = make_server(nonce_ttl_s=0)
    user = new_user(server)
    key, body = issue(server, user)
    response = try_certificate_login(server, key, unb64(body["sign_certificate"]))
    assert response.status_code == 401 and response.json()["error"] == "nonce_invalid"


# -- update, name change, exchange, revoke -----------------------------------------------------


def test_renewal_too_early_then_allowed(make_server: ServerFactory) -> None:
    server = make_server(validity_days=40)
    user = new_user(server)
    key, body = issue(server, user)
    token = certificate_login(server, key, unb64(body["sign_certificate"]))
    early = server.api("POST", "/api/v1/certificates/update", token, json={"csr": csr_for(SM2PrivateKey.generate())})
    assert early.status_code == 409 and early.json()["error"] == "renewal_too_early"
    assert re.search(r"还有\d+天到期，到期前30天内", early.json()["message"])
    server.service.config.renewal_window_days = 60
    new_key = SM2PrivateKey.generate()
    renewed = server.api("POST", "/api/v1/certificates/update", token, json={"csr": csr_for(new_key)})
    assert renewed.status_code == 200, renewed.text
    old = Certificate.from_der(unb64(body["sign_certificate"]))
    crl = CRL.from_der(server.api("GET", "/crl/issuing.crl").content)
    assert crl.is_revoked(old.serial_number) is not None and crl.is_revoked(old.serial_number).reason == "superseded"  # type: ignore[union-attr]
    refused = try_certificate_login(server, key, unb64(body["sign_certificate"]))
    assert refused.status_code == 403 and refused.json()["error"] == "certificate_revoked"


def test_name_change_after_approval(server: Server) -> None:
    user = new_user(server, kind="legal")
    key, body = issue(server, user)
    token = certificate_login(server, key, unb64(body["sign_certificate"]))
    requested = server.api("POST", "/api/v1/account/name-change", token, json={"new_name": "某某知识产权代理有限公司"})
    assert requested.status_code == 200 and requested.json()["pending_name"] == "某某知识产权代理有限公司"
    not_yet = server.api("POST", "/api/v1/certificates/update", token, json={"csr": csr_for(SM2PrivateKey.generate())})
    assert not_yet.status_code == 409  # not approved yet, and not near expiry
    server.service.accounts.approve_name_change(user["username"])
    server.smtp.inbox.wait_for(user["email"], "名称变更审核通过")
    updated = server.api("POST", "/api/v1/certificates/update", token, json={"csr": csr_for(SM2PrivateKey.generate())})
    assert updated.status_code == 200, updated.text
    cert = Certificate.from_der(unb64(updated.json()["sign_certificate"]))
    assert cert.common_name == "某某知识产权代理有限公司"
    assert server.service.accounts.show(user["username"]).applicant_name == "某某知识产权代理有限公司"


def test_exchange_moves_to_the_new_ca(server: Server) -> None:
    user = new_user(server)
    _key, body = issue(server, user)
    token = account_login(server, user)
    not_flagged = server.api(
        "POST", "/api/v1/certificates/exchange", token, json={"csr": csr_for(SM2PrivateKey.generate())}
    )
    assert not_flagged.status_code == 409 and not_flagged.json()["error"] == "exchange_not_required"
    assert server.service.authority.rotate() == 2
    server.service.accounts.set_flags(user["username"], exchange_required=True)
    token = account_login(server, user)
    blocked = server.api("POST", "/api/v1/certificates/issue", token, json={"csr": csr_for(SM2PrivateKey.generate())})
    assert blocked.status_code == 409 and blocked.json()["error"] == "exchange_required"
    exchanged = server.api(
        "POST", "/api/v1/certificates/exchange", token, json={"csr": csr_for(SM2PrivateKey.generate())}
    )
    assert exchanged.status_code == 200, exchanged.text
    new = Certificate.from_der(unb64(exchanged.json()["sign_certificate"]))
    assert "G2" in new.issuer_text and new.crl_urls == ["http://127.0.0.1:8470/crl/issuing-g2.crl"]
    old = Certificate.from_der(unb64(body["sign_certificate"]))
    assert CRL.from_der(server.api("GET", "/crl/issuing-g1.crl").content).is_revoked(old.serial_number)
    assert server.api("GET", "/crl/issuing-g9.crl").status_code == 404


def test_revoke_updates_crl_and_allows_reissue(server: Server) -> None:
    user = new_user(server)
    key, body = issue(server, user)
    token = certificate_login(server, key, unb64(body["sign_certificate"]))
    revoked = server.api("POST", "/api/v1/certificates/revoke", token, json={"reason": "key_compromise"})
    assert revoked.status_code == 200, revoked.text
    crl = CRL.from_der(server.api("GET", "/crl/issuing-g1.crl").content)
    for field in ("sign_certificate", "encryption_certificate"):
        entry = crl.is_revoked(Certificate.from_der(unb64(body[field])).serial_number)
        assert entry is not None and entry.reason == "key_compromise"
    _root, issuing = chain_of(server)
    crl.verify_signature(issuing[0].public_key)
    assert server.api("GET", "/api/v1/me", token).status_code == 401  # its sessions ended with it
    issue(server, user)  # a holder without a valid certificate is never stuck


def test_openapi_is_served(server: Server) -> None:
    spec = server.api("GET", "/openapi.json").json()
    assert "/api/v1/certificates/issue" in spec["paths"] and "/api/v1/unlock/complete" in spec["paths"]


def test_issuance_is_idempotent_for_the_same_key(server: Server) -> None:
    """A client whose connection dropped after the CA answered asks again and gets the same pair."""
    user = new_user(server)
    key, first = issue(server, user)
    token = account_login(server, user)
    again = server.api("POST", "/api/v1/certificates/issue", token, json={"csr": csr_for(key)})
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["sign_certificate"] == first["sign_certificate"]
    assert body["encryption_certificate"] == first["encryption_certificate"]
    enc = Certificate.from_der(unb64(body["encryption_certificate"]))
    assert EnvelopedKey.from_der(unb64(body["enveloped_key"])).open(key).public_key == enc.public_key
    other = server.api("POST", "/api/v1/certificates/issue", token, json={"csr": csr_for(SM2PrivateKey.generate())})
    assert other.status_code == 403  # a new key is a new certificate: still refused
    with server.service.db.session() as session:
        assert len(list(session.scalars(select(models.Certificate)))) == 2


def test_update_retry_after_success_returns_the_new_pair(make_server: ServerFactory) -> None:
    server = make_server(validity_days=20)
    user = new_user(server)
    key, body = issue(server, user)
    token = certificate_login(server, key, unb64(body["sign_certificate"]))
    new_key = SM2PrivateKey.generate()
    first = server.api("POST", "/api/v1/certificates/update", token, json={"csr": csr_for(new_key)})
    assert first.status_code == 200
    retry = server.api("POST", "/api/v1/certificates/update", token, json={"csr": csr_for(new_key)})
    assert retry.status_code == 200 and retry.json()["sign_certificate"] == first.json()["sign_certificate"]


def test_concurrent_issuances_for_one_account_issue_one_pair(server: Server) -> None:
    """Requests racing for one account (a double click, two computers): one pair, the others refused.

    PostgreSQL locks the account row; SQLite does not lock on read, so the claim on ``may_issue`` is
    checked again when it is written.
    """
    user = new_user(server)
    token = account_login(server, user)
    csrs = [csr_for(SM2PrivateKey.generate()) for _ in range(6)]
    barrier = threading.Barrier(len(csrs))

    def attempt(csr: str) -> Any:
        barrier.wait()
        return server.api("POST", "/api/v1/certificates/issue", token, json={"csr": csr})

    with ThreadPoolExecutor(len(csrs)) as pool:
        responses = list(pool.map(attempt, csrs))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [403] * (len(csrs) - 1), [r.text for r in responses]
    assert all(r.json()["error"] == "issue_not_allowed" for r in responses if r.status_code == 403)
    with server.service.db.session() as session:
        assert session.scalar(select(func.count()).select_from(models.Certificate)) == 2
        assert session.scalar(select(func.count()).select_from(models.EscrowedKey)) == 1


def test_request_thread_pool_has_the_configured_size(make_server: ServerFactory) -> None:
    server = make_server(threads=3)
    with server.client as client:  # runs the lifespan, which sizes the pool of the app's event loop
        assert client.portal is not None
        size = client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
    assert size == 3


def test_database_errors_carry_no_statement_values(server: Server) -> None:
    """An unexpected failure is logged with its database error: the text must not hold a secret's hash."""
    secret = "ab12cd34-secret-hash"
    with pytest.raises(DBAPIError) as failure, server.service.db.engine.connect() as connection:
        connection.execute(text("SELECT * FROM no_such_table WHERE token_hash = :value"), {"value": secret})
    assert secret not in str(failure.value) and "no_such_table" in str(failure.value)


@pytest.mark.parametrize(("cache_s", "generation"), [(0, 2), (3600, 1)])
def test_a_rotation_by_another_process_is_used_within_the_ca_cache_time(
    make_server: ServerFactory, cache_s: float, generation: int
) -> None:
    """The active issuing CA is cached for ``ca_cache_s`` seconds: a rotation by another process (the operator's
    `ca rotate`, another host) is used within that time; 0 reads it for every issuance."""
    server = make_server(ca_cache_s=cache_s)
    issue(server, new_user(server))  # the service has read the active issuing CA (G1)
    operator = build_service(server.service.config)  # another process on the same data and database
    try:
        assert operator.authority.rotate() == 2
    finally:
        operator.close()
    _key, body = issue(server, new_user(server))
    issuer = Certificate.from_der(unb64(body["sign_certificate"])).issuer_text
    assert f"Issuing CA G{generation}," in issuer
