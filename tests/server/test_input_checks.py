"""申请人名称, user names and email addresses are checked where they come in (issue 13.12): no control or
bidi-control characters, sane lengths, one real addr-spec; each refusal is a 400 that says what is wrong."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from tests.server.conftest import PASSING_ID, Server, certificate_login, issue, new_user, try_account_login, unb64

RLO, LRI, ZWSP = "\u202e", "\u2066", "\u200b"


def register(server: Server, **fields: str) -> Any:
    body: Dict[str, str] = {
        "username": "checked1",
        "applicant_name": "张三",
        "account_type": "natural",
        "id_number": PASSING_ID,
        "email": "checked1@example.com",
        **fields,
    }
    return server.api("POST", "/api/v1/accounts", json=body)


@pytest.mark.parametrize(
    ("field", "value", "code", "words"),
    [
        ("applicant_name", f"某某{RLO}司公限有", "invalid_name", "控制字符"),
        ("applicant_name", "某某\n有限公司", "invalid_name", "控制字符"),
        ("applicant_name", f"某某{ZWSP}有限公司", "invalid_name", "控制字符"),
        ("applicant_name", "某某\u3000\u3000有限公司", "invalid_name", "单个空格"),
        ("applicant_name", "某" * 65, "invalid_name", "最多64个字符"),
        ("applicant_name", "   ", "invalid_name", "请填写申请人名称"),
        ("username", f"dave{LRI}", "invalid_username", "用户名只能包含"),
        ("username", "da ve", "invalid_username", "用户名只能包含"),
        ("username", "da\tve", "invalid_username", "用户名只能包含"),
        ("username", "dv", "invalid_username", "3-64"),
        ("email", "x<a@b.cn>", "invalid_email", "邮箱地址格式不正确"),
        ("email", "Victim <victim@example.com>", "invalid_email", "邮箱地址格式不正确"),
        ("email", "a@b.cn\r\nBcc: all@example.com", "invalid_email", "邮箱地址格式不正确"),
        ("email", '"a b"@example.com', "invalid_email", "邮箱地址格式不正确"),
        ("email", "a@[127.0.0.1]", "invalid_email", "邮箱地址格式不正确"),
        ("email", "a@localhost", "invalid_email", "邮箱地址格式不正确"),
        ("email", f"a{RLO}@example.com", "invalid_email", "邮箱地址格式不正确"),
        ("email", "a,b@example.com", "invalid_email", "邮箱地址格式不正确"),
    ],
)
def test_registration_refuses_hidden_characters_and_display_forms(
    server: Server, field: str, value: str, code: str, words: str
) -> None:
    response = register(server, **{field: value})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == code and words in response.json()["message"]


def test_good_values_are_stored_in_their_one_form(server: Server) -> None:
    response = register(
        server, username=" Zhang.San-01 ", applicant_name=" 某某（北京）科技有限公司 ", email="Zhang.San@Example.CN"
    )
    assert response.status_code == 201, response.text
    details = server.service.accounts.show("zhang.san-01")
    assert details.applicant_name == "某某（北京）科技有限公司"
    assert response.json()["email"] == "Z***n@example.cn"


def test_the_holders_changes_are_checked_too(server: Server) -> None:
    user = new_user(server, kind="legal")
    key, body = issue(server, user)
    token = certificate_login(server, key, unb64(body["sign_certificate"]))
    email = server.api("PUT", "/api/v1/account/email", token, json={"email": "x<attacker@example.com>"})
    assert email.status_code == 400 and email.json()["error"] == "invalid_email"
    name = server.api("POST", "/api/v1/account/name-change", token, json={"new_name": f"某某{RLO}公司"})
    assert name.status_code == 400 and name.json()["error"] == "invalid_name"
    assert server.service.accounts.show(user["username"]).pending_name is None


def test_login_refuses_hidden_characters_with_a_clear_message(server: Server) -> None:
    user = new_user(server)
    refused = try_account_login(server, {**user, "username": user["username"] + RLO})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_username"
    assert "用户名格式不正确" in refused.json()["message"]


def test_the_operator_command_line_is_checked_too(server: Server) -> None:
    from server.errors import ServiceError

    with pytest.raises(ServiceError) as refused:
        server.service.accounts.register("opuser", "某某", "natural", PASSING_ID, "x<a@b.cn>")
    assert refused.value.code == "invalid_email" and refused.value.status == 400
