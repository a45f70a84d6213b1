"""Checks of the names and addresses people type (issue 13.12): 申请人名称, user names and email addresses.

No control characters, no bidirectional-text controls (a name that renders as something else), sane lengths
(a 申请人名称 becomes a certificate's CN and O, at most 64 characters in X.509), and an email address is one
real addr-spec (``name@example.cn``), never a display form such as ``x<a@b>``. Each check returns the value
in its stored form or raises ``InvalidInput`` with a stable code and a Chinese message; the HTTP schemas apply
them (a 400 with that message) and the use cases apply them again for the operator's commands.
"""

from __future__ import annotations

import unicodedata
from typing import Callable

from email_validator import EmailNotValidError, validate_email
from pydantic_core import PydanticCustomError

from server.identity import normalise_username

NAME_MAX = 64  # ub-common-name / ub-organization-name (RFC 5280)
LOGIN_NAME_MAX = 200  # names stored before this check, which 账号登录 must still accept
USERNAME_MIN, USERNAME_MAX = 3, 64
EMAIL_MAX = 254
_USERNAME_PUNCTUATION = set("._-@")


class InvalidInput(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _hidden(value: str) -> bool:
    """Control, format (bidi overrides, zero-width), private-use, surrogate, unassigned or line-separator
    characters: nothing a person means to type in a name."""
    return any(unicodedata.category(c) in {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"} for c in value)


def check_applicant_name(value: str, max_length: int = NAME_MAX, field: str = "申请人名称") -> str:
    """A 申请人名称 (or a new company name): NFC, trimmed, 1..max_length characters, no hidden characters, no
    white space but single spaces inside."""
    name = unicodedata.normalize("NFC", value).strip()
    if not name:
        raise InvalidInput("invalid_name", f"请填写{field}")
    if _hidden(name):
        raise InvalidInput("invalid_name", f"{field}含有控制字符或不可见的格式字符，请删除后重新输入")
    if any(c.isspace() and c != " " for c in name) or "  " in name:
        raise InvalidInput("invalid_name", f"{field}中只能使用单个空格，不能含有换行、制表符或连续空格")
    if len(name) > max_length:
        raise InvalidInput("invalid_name", f"{field}最多{max_length}个字符")
    return name


def check_username(value: str) -> str:
    """A new user name in its one form (server.identity.normalise_username): 3-64 letters, digits or . _ - @."""
    username = normalise_username(value)
    if _hidden(username) or not all(c.isalnum() or c in _USERNAME_PUNCTUATION for c in username):
        raise InvalidInput("invalid_username", "用户名只能包含字母、数字和 . _ - @，不能含有空格或其他符号")
    if not USERNAME_MIN <= len(username) <= USERNAME_MAX:
        raise InvalidInput("invalid_username", f"用户名应为{USERNAME_MIN}-{USERNAME_MAX}个字符")
    return username


def check_login_username(value: str) -> str:
    """A user name typed at 账号登录: its one form; only what no stored name can contain is refused."""
    username = normalise_username(value)
    if not username or len(username) > USERNAME_MAX or _hidden(username):
        raise InvalidInput("invalid_username", "用户名格式不正确，请核对后重试")
    return username


def check_email(value: str) -> str:
    """One addr-spec (an ASCII local part @ a real domain name), normalised as email-validator does; no display
    names, comments, quoted local parts, IP literals or hidden characters (mail servers without SMTPUTF8 must
    take it, so the local part is ASCII; a Chinese domain is kept in its ASCII form)."""
    address = value.strip()
    if not address or len(address) > EMAIL_MAX or _hidden(address) or any(c in address for c in '<>"()[],;\\ '):
        raise InvalidInput("invalid_email", "邮箱地址格式不正确，请只填写邮箱地址本身，例如 name@example.cn")
    try:
        checked = validate_email(address, check_deliverability=False, allow_quoted_local=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidInput("invalid_email", "邮箱地址格式不正确，请只填写邮箱地址本身，例如 name@example.cn") from exc
    return str(checked.ascii_email or checked.normalized)  # an internationalised domain in its ASCII form


def pydantic_check(check: Callable[[str], str]) -> Callable[[str], str]:
    """``check`` for a pydantic AfterValidator: an InvalidInput becomes the validation error
    ``certassist_invalid`` that server.app answers with 400 and the check's own code and message."""

    def validate(value: str) -> str:
        try:
            return check(value)
        except InvalidInput as exc:
            raise PydanticCustomError(INVALID_INPUT, exc.message, {"code": exc.code}) from None

    return validate


INVALID_INPUT = "certassist_invalid"
