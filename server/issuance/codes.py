"""The holder's secret for issuance (issue 13.3). An account login (用户名 + 申请人名称 + 验证码) identifies an
account but proves nothing: a company's name is public. 证书签发, and 证书换发 without a certificate login, need
the session to be opened for issuance first with a secret the holder alone has:

- the issuance code (签发码) mailed to the registered address with the approval, when the operator opens
  issuance or exchange again, or when the holder asks for a new one; 16 characters (about 75 bits), stored as
  HMAC-SM3, expiring (``issuance_code_ttl_s``), spent by the issuance it opened; a new code never invalidates
  an earlier one (no one can take the code the holder has in hand);
- or the account password (set by certificate login), checked with scrypt.

Guesses are limited per client address and per (address, account); password guesses also per account (a
limit that closes only the password: the mailed code still works), never in a way a stranger can use to shut
the holder out. What a session was opened with is kept on the session (``issuance_grant``).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server import mail, models
from server.config import ServerConfig
from server.db import Database
from server.domain import AccountStatus, OneTimeKind, SessionKind
from server.errors import ServiceError, bad_request, conflict, forbidden
from server.identity import mask_email
from server.mail import Outbox
from server.security import (
    audit,
    aware,
    check_password,
    new_one_time,
    rate_limit,
    secret_hash,
    token_hash,
    utcnow,
)
from server.sessions import Sessions, session_invalid

ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"  # no look-alikes (as the captcha's)
GROUPS, GROUP = 4, 4
PASSWORD_GRANT = "password"  # noqa: S105 - the name of a grant, not a password


@dataclass(frozen=True)
class CodeSent:
    email: str  # masked
    expires_in: int  # seconds


def new_code_text() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP))
    return "-".join(raw[i : i + GROUP] for i in range(0, len(raw), GROUP))


def code_key(text: str) -> str:
    """A typed code in the form it is hashed in: upper case, without separators and spaces."""
    return "".join(c for c in text.upper() if c.isalnum())


def issuance_secret_required() -> ServiceError:
    return forbidden(
        "issuance_secret_required",
        "签发证书需要先输入签发码（随账号审核通过邮件发送到注册邮箱）或账号密码；如使用旧版证书助手，请更新到最新版本",
    )


class IssuanceCodes:
    def __init__(self, db: Database, config: ServerConfig, sessions: Sessions, outbox: Outbox, pepper: bytes) -> None:
        self.db = db
        self.config = config
        self.sessions = sessions
        self.outbox = outbox
        self._pepper = pepper

    @property
    def days(self) -> int:
        return max(1, self.config.issuance_code_ttl_s // 86400)

    def new_code(self, session: Session, account_id: int) -> str:
        """A new code for the account in the caller's unit of work; the text to mail (never stored)."""
        text = new_code_text()
        hashed = secret_hash(self._pepper, code_key(text))
        new_one_time(session, OneTimeKind.ISSUANCE, hashed, self.config.issuance_code_ttl_s, subject=str(account_id))
        return text

    def mail_new_code(self, session: Session, account: models.Account) -> None:
        """Issuance or exchange was opened to the account (by the operator): the holder gets a code."""
        text = self.new_code(session, account.id)
        notice = mail.issuance_code_mail(account.applicant_name, account.username, text, self.days)
        self.outbox.post(session, account.email, *notice)

    def send(self, token: str, client: Optional[str] = None) -> CodeSent:
        """The holder asks for a new code (重新发送签发码) with an account login; at most one a resend period."""
        principal = self.sessions.principal(token)
        with self.db.session() as session:
            rate_limit(session, f"issuance-code-client:{client}", 10, 3600)
            account = session.get(models.Account, principal.account_id)
            assert account is not None
            if account.status != AccountStatus.APPROVED:
                raise forbidden("account_not_approved", "账号未审核通过或已停用，无法办理证书业务")
            if not (account.may_issue or account.exchange_required):
                raise conflict("issuance_not_open", "您的账号当前无需签发或换发证书")
            rate_limit(session, f"issuance-code-mail:{account.id}", 1, self.config.issuance_code_resend_s)
            self.mail_new_code(session, account)
            audit(session, "issuance_code_sent", account.id, client=client)
            return CodeSent(mask_email(account.email), self.config.issuance_code_ttl_s)

    def authorize(self, token: str, secret: str, client: Optional[str] = None) -> None:
        """Open 证书签发 / 证书换发 to this account session with the issuance code or the account password."""
        with self.db.session() as session:
            row = session.get(models.ApiSession, token_hash(token), with_for_update=True)
            if row is None or aware(row.expires_at) <= utcnow():
                raise session_invalid()
            if row.kind != SessionKind.ACCOUNT:
                raise forbidden("account_login_required", "签发码需要在「账号登录」后输入")
            account = session.get(models.Account, row.account_id)
            assert account is not None
            rate_limit(session, f"issuance-secret-client:{client}", 20, 3600)
            rate_limit(session, f"issuance-secret-pair:{client}:{account.id}", 10, 3600)
            code = self._matching_code(session, account.id, secret)
            if code is not None:
                row.issuance_grant = code.id
            elif account.password_hash and self._password_ok(session, account, secret):
                row.issuance_grant = PASSWORD_GRANT
            else:
                audit(session, "issuance_secret_wrong", account.id, client=client)
                raise bad_request(
                    "issuance_secret_wrong",
                    "签发码或账号密码不正确，请核对审核通过邮件中的签发码后重新输入；如已过期，请点击「重新发送签发码」",
                )
            audit(session, "issuance_authorized", account.id, client=client, by=row.issuance_grant != PASSWORD_GRANT)

    def _matching_code(self, session: Session, account_id: int, secret: str) -> Optional[models.OneTimeSecret]:
        given = secret_hash(self._pepper, code_key(secret))
        found = None
        for code in self.live_codes(session, account_id):  # every live code is compared: no early exit
            if hmac.compare_digest(code.secret_hash, given):
                found = code
        return found

    def _password_ok(self, session: Session, account: models.Account, password: str) -> bool:
        rate_limit(session, f"issuance-password:{account.id}", 10, 3600)  # closes the password only
        return check_password(password, account.password_hash or "")

    @staticmethod
    def live_codes(session: Session, account_id: int) -> List[models.OneTimeSecret]:
        rows = session.scalars(
            select(models.OneTimeSecret).where(
                models.OneTimeSecret.kind == OneTimeKind.ISSUANCE,
                models.OneTimeSecret.subject == str(account_id),
                models.OneTimeSecret.used.is_(False),
            )
        )
        now = utcnow()
        return [row for row in rows if aware(row.expires_at) > now]


def spend_grants(session: Session, grants: List[str], token_hashes: List[str]) -> bool:
    """Spend what opened issuance to these sessions, in the issuance's unit of work: each code once (False when
    a code was spent or expired meanwhile), and the sessions must be opened again for another issuance."""
    codes = [grant for grant in grants if grant != PASSWORD_GRANT]
    if codes:
        spent = session.connection().execute(
            update(models.ONE_TIME_SECRETS)
            .where(
                models.ONE_TIME_SECRETS.c.id.in_(codes),
                models.ONE_TIME_SECRETS.c.kind == OneTimeKind.ISSUANCE.value,
                models.ONE_TIME_SECRETS.c.used.is_(False),
                models.ONE_TIME_SECRETS.c.expires_at > utcnow(),
            )
            .values(used=True)
        )
        if spent.rowcount != len(set(codes)):
            return False
    session.connection().execute(
        update(models.API_SESSIONS)
        .where(models.API_SESSIONS.c.token_hash.in_(token_hashes))
        .values(issuance_grant=None)
    )
    return True
