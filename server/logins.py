"""Logins: 账号登录 (username + 申请人名称 + image captcha, with lockout) and 证书登录 (a signed single-use
nonce); "who am I" for a session. Each login opens a session (server.sessions)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from gm.errors import GMError
from gm.x509 import Certificate
from server import captcha as captcha_images
from server import models
from server.accounts import account_view
from server.certificates import CertificateRegister
from server.config import ServerConfig
from server.db import Database
from server.domain import AccountStatus, AccountView, CertificateUsage, CertificateView, OneTimeKind, SessionKind
from server.errors import ServiceError, bad_request, forbidden, unauthorized
from server.security import audit, aware, lookup_one_time, new_one_time, rate_limit, secret_hash, utcnow
from server.sessions import Principal, Sessions


@dataclass(frozen=True)
class Captcha:
    captcha_id: str
    image_png: bytes
    expires_in: int  # seconds


@dataclass(frozen=True)
class Challenge:
    """The nonce a certificate login signs."""

    nonce_id: str
    nonce: bytes
    expires_in: int  # seconds


@dataclass(frozen=True)
class Login:
    token: str
    expires_in: int  # seconds
    account: AccountView
    certificate: Optional[CertificateView] = None  # of a certificate login


@dataclass(frozen=True)
class Me:
    session: SessionKind
    account: AccountView
    certificate: Optional[CertificateView] = None  # of a certificate session


class Logins:
    def __init__(
        self, db: Database, config: ServerConfig, sessions: Sessions, register: CertificateRegister, pepper: bytes
    ) -> None:
        self.db = db
        self.config = config
        self.sessions = sessions
        self.register = register
        self._pepper = pepper  # of the stored captcha answers

    # -- 账号登录 ---------------------------------------------------------------------------
    def new_captcha(self, client: Optional[str] = None) -> Captcha:
        answer = captcha_images.new_answer()
        with self.db.session() as session:
            rate_limit(session, f"captcha:{client}", 60, 600)
            hashed = secret_hash(self._pepper, answer)
            ident = new_one_time(session, OneTimeKind.CAPTCHA, hashed, self.config.captcha_ttl_s)
        return Captcha(ident, captcha_images.render(answer), self.config.captcha_ttl_s)

    def account_login(
        self, username: str, applicant_name: str, captcha_id: str, captcha_answer: str, client: Optional[str] = None
    ) -> Login:
        with self.db.session() as session:
            rate_limit(session, f"login-client:{client}", 30, 600)
            rate_limit(session, f"login-user:{username}", 20, 600)
            self._spend_captcha(session, captcha_id, captcha_answer)
        with self.db.session() as session:
            account = session.scalar(
                select(models.Account).where(models.Account.username == username.strip()).with_for_update()
            )
            self._refuse_locked(account)
            if account is None or account.applicant_name != applicant_name.strip():
                if account is not None:
                    self._count_failure(session, account, client)
                raise unauthorized(
                    "login_failed", "用户名或申请人名称不正确，请核对后重试（申请人名称需与注册时完全一致）"
                )
            if account.status == AccountStatus.PENDING:
                raise forbidden("account_pending", "账号尚未审核通过，审核通过后会发送邮件通知您")
            if account.status == AccountStatus.DISABLED:
                raise forbidden("account_disabled", "账号已停用，请联系管理员")
            account.failed_logins = 0
            token = self.sessions.open(session, account.id, SessionKind.ACCOUNT)
            audit(session, "login_account", account.id, client=client)
            return Login(token, self.config.session_ttl_s, account_view(account))

    def _spend_captcha(self, session: Session, ident: str, answer: str) -> None:
        """Check a captcha answer; the captcha is used up either way."""
        row = lookup_one_time(session, ident, OneTimeKind.CAPTCHA)
        ok = (
            row is not None
            and not row.used
            and aware(row.expires_at) > utcnow()
            and hmac.compare_digest(row.secret_hash, secret_hash(self._pepper, answer.strip().upper()))
        )
        if row is not None:
            row.used = True
        if not ok:
            raise bad_request("captcha_invalid", "验证码错误或已过期，请点击图片换一张后重新输入")

    @staticmethod
    def _refuse_locked(account: Optional[models.Account]) -> None:
        now = utcnow()
        if account is not None and account.locked_until and aware(account.locked_until) > now:
            minutes = int((aware(account.locked_until) - now).total_seconds() // 60) + 1
            raise ServiceError(
                "account_locked",
                f"登录失败次数过多，账号已临时锁定，请{minutes}分钟后再试",
                429,
                retry_after=minutes * 60,
            )

    def _count_failure(self, session: Session, account: models.Account, client: Optional[str]) -> None:
        account.failed_logins += 1
        if account.failed_logins >= self.config.login_failures_before_lockout:
            account.locked_until = utcnow() + timedelta(minutes=self.config.lockout_minutes)
            account.failed_logins = 0
        audit(session, "login_failed", account.id, client=client)

    # -- 证书登录 ---------------------------------------------------------------------------
    def new_challenge(self, client: Optional[str] = None) -> Challenge:
        nonce = secrets.token_bytes(32)
        with self.db.session() as session:
            rate_limit(session, f"nonce:{client}", 60, 600)
            ident = new_one_time(session, OneTimeKind.NONCE, nonce.hex(), self.config.nonce_ttl_s)
        return Challenge(ident, nonce, self.config.nonce_ttl_s)

    def certificate_login(
        self, nonce_id: str, certificate: bytes, signature: bytes, client: Optional[str] = None
    ) -> Login:
        with self.db.session() as session:
            rate_limit(session, f"cert-login:{client}", 30, 600)
            nonce = self._spend_nonce(session, nonce_id)
        with self.db.session() as session:
            row = self.register.ours(session, certificate)
            if row.usage != CertificateUsage.SIGN:
                raise bad_request("not_signing_certificate", "请使用签名证书登录")
            rate_limit(session, f"cert-login-serial:{row.serial}", 20, 600)
            cert = self.register.check_usable(session, row)
            try:
                cert.public_key.verify(signature, nonce)
            except GMError as exc:
                audit(session, "login_certificate_failed", row.account_id, row.serial, client=client)
                raise unauthorized(
                    "signature_invalid", "证书签名验证失败，请确认使用的是本证书对应的设备并重试"
                ) from exc
            account = session.get(models.Account, row.account_id)
            assert account is not None
            token = self.sessions.open(session, account.id, SessionKind.CERTIFICATE, row.serial)
            audit(session, "login_certificate", account.id, row.serial, client=client)
            return Login(token, self.config.session_ttl_s, account_view(account), self.register.view(row, cert))

    @staticmethod
    def _spend_nonce(session: Session, nonce_id: str) -> bytes:
        """The nonce to verify the signature over; used up, also when the signature turns out to be wrong."""
        row = lookup_one_time(session, nonce_id, OneTimeKind.NONCE)
        if row is None or row.used or aware(row.expires_at) <= utcnow():
            if row is not None:
                row.used = True
            raise unauthorized("nonce_invalid", "登录请求已失效或已使用，请重新登录")
        row.used = True
        return bytes.fromhex(row.secret_hash)

    # -- who am I --------------------------------------------------------------------------
    def me(self, principal: Principal) -> Me:
        with self.db.session() as session:
            account = session.get(models.Account, principal.account_id)
            assert account is not None
            if principal.kind != SessionKind.CERTIFICATE or principal.certificate_serial is None:
                return Me(principal.kind, account_view(account))
            row = self.register.of_session(session, principal.certificate_serial)
            return Me(principal.kind, account_view(account), self.register.view(row, Certificate.from_der(row.der)))
