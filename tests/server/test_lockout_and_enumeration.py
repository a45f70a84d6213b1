"""No one can lock a user out or learn whether a user exists (issue 13.6): limits count the attacker's address
and (address, username), refusals are identical, user names have one form, and a stranger holding the public
certificate cannot deny the holder an unlock code."""

from __future__ import annotations

import re
from typing import Any, Dict, List

from fastapi.testclient import TestClient
from sqlalchemy import select

from server import models
from tests.server.conftest import CAPTCHA, PASSING_ID, Server, issue, new_user

ATTACKER = ("203.0.113.66", 40000)
HOLDER = ("198.51.100.7", 50000)


def client_at(server: Server, address: Any) -> TestClient:
    """The same service as reached from another address."""
    return TestClient(server.client.app, client=address)


def login_from(client: TestClient, username: str, applicant_name: str, answer: str = CAPTCHA) -> Any:
    captcha_id = client.post("/api/v1/captcha").json()["captcha_id"]
    return client.post(
        "/api/v1/login/account",
        json={
            "username": username,
            "applicant_name": applicant_name,
            "captcha_id": captcha_id,
            "captcha_answer": answer,
        },
    )


def test_wrong_names_for_existing_and_missing_users_get_the_same_refusal(server: Server) -> None:
    user = new_user(server)
    attacker = client_at(server, ATTACKER)
    answers: Dict[str, List[Any]] = {"existing": [], "missing": []}
    for _ in range(8):  # more than the old lockout's 5
        answers["existing"].append(login_from(attacker, user["username"], "王五"))
        answers["missing"].append(login_from(attacker, "nobody-here", "王五"))
    for kind, responses in answers.items():
        assert {(r.status_code, r.json()["error"], r.json()["message"]) for r in responses} == {
            (401, "login_failed", "用户名或申请人名称不正确，请核对后重试（申请人名称需与注册时完全一致）")
        }, kind
        assert all("retry-after" not in r.headers for r in responses)


def test_spent_captchas_and_wrong_names_do_not_lock_the_holder_out(server: Server) -> None:
    user = new_user(server)
    attacker = client_at(server, ATTACKER)
    for _ in range(25):  # junk captchas in the victim's name
        login_from(attacker, user["username"], user["applicant_name"], answer="ZZZZ")
    for _ in range(6):  # solved captchas with wrong names
        login_from(attacker, user["username"], "王五")
    blocked = login_from(attacker, user["username"], user["applicant_name"])
    assert blocked.status_code == 429  # the attacker's own address and (address, user) pair are limited
    holder = login_from(client_at(server, HOLDER), user["username"], user["applicant_name"])
    assert holder.status_code == 200, holder.text


def test_a_user_name_has_one_form(server: Server) -> None:
    registered = server.api(
        "POST",
        "/api/v1/accounts",
        json={
            "username": "Dave ",
            "applicant_name": "戴维",
            "account_type": "natural",
            "id_number": PASSING_ID,
            "email": "dave@example.com",
        },
    )
    assert registered.status_code == 201 and registered.json()["username"] == "dave"
    again = server.api(
        "POST",
        "/api/v1/accounts",
        json={
            "username": "ＤＡＶＥ",  # full-width letters are the same name
            "applicant_name": "另一个人",
            "account_type": "natural",
            "id_number": PASSING_ID,
            "email": "other@example.com",
        },
    )
    assert again.status_code == 409 and again.json()["error"] == "username_taken"
    server.service.accounts.approve("DAVE")  # the operator's commands take any form too
    for form in ("dave", "DAVE", " Dave"):
        assert login_from(server.client, form, "戴维").status_code == 200, form


def test_the_migration_normalises_existing_user_names(server: Server) -> None:
    from alembic import command

    from server.db import alembic_config

    new_user(server, "Carol")  # stored as "carol" now; write the old form back, as an old database holds it
    with server.service.db.session() as session:
        account = session.scalar(select(models.Account).where(models.Account.username == "carol"))
        assert account is not None
        account.username = "Carol "
    config = alembic_config(server.service.db.url)
    command.downgrade(config, "0001")
    command.upgrade(config, "head")
    with server.service.db.session() as session:
        assert session.scalar(select(models.Account.username).where(models.Account.id == account.id)) == "carol"


def _unlock_code(server: Server, email: str) -> str:
    match = re.search(r"解锁码：(\d{8})", server.smtp.inbox.body(server.smtp.inbox.wait_for(email, "解锁码")))
    assert match is not None
    return match.group(1)


def test_a_stranger_cannot_deny_the_holder_an_unlock_code(server: Server) -> None:
    user = new_user(server)
    _key, body = issue(server, user)
    cert = body["sign_certificate"]
    attacker = client_at(server, ATTACKER)
    first = attacker.post("/api/v1/unlock/request", json={"certificate": cert})
    assert first.status_code == 200 and first.json()["mailed"] is True
    for _ in range(4):  # the stranger's quota for this certificate, and the mailbox is not flooded
        again = attacker.post("/api/v1/unlock/request", json={"certificate": cert})
        assert again.status_code == 200 and again.json()["mailed"] is False
        for _attempt in range(5):  # and spends every attempt of the stranger's tickets
            attacker.post(
                "/api/v1/unlock/complete",
                json={"unlock_id": again.json()["unlock_id"], "certificate": cert, "code": "00000000"},
            )
    assert attacker.post("/api/v1/unlock/request", json={"certificate": cert}).status_code == 429
    holder = client_at(server, HOLDER)
    mine = holder.post("/api/v1/unlock/request", json={"certificate": cert})
    assert mine.status_code == 200, mine.text
    code = _unlock_code(server, user["email"])  # the one mail, sent for the stranger's first request
    done = holder.post(
        "/api/v1/unlock/complete", json={"unlock_id": mine.json()["unlock_id"], "certificate": cert, "code": code}
    )
    assert done.status_code == 200 and "admin_credential" in done.json()
    assert len(server.smtp.inbox.matching(user["email"], "解锁码")) == 1
