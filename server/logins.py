"""Logins: 账号登录 (username + 申请人名称 + image captcha, with lockout) and 证书登录 (a signed labelled
challenge); "who am I" for a session. Each login opens a session (server.sessions).

Certificate login (issue 13.2): the holder never signs bytes the service chose. The service issues a nonce
(32 random bytes) recorded with its purpose (``ChallengePurpose``); the client builds the labelled structure
``gm.challenge.LoginChallenge(purpose, origin, nonce)`` from the service URL *it* is configured with and signs
its DER. The service rebuilds the same structure from its own public origin (``ServerConfig.public_url``,
configured, never taken from the request's Host header) or, for a web login, the portal page's origin, and
verifies: ``Logins.verify_challenge_signature`` is that one check, for the tray and the browser bridge alike.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from gm.challenge import NONCE_SIZE, ChallengePurpose, InvalidOrigin, LoginChallenge, service_origin
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

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Captcha:
    captcha_id: str
    image_png: bytes
    expires_in: int  # seconds


@dataclass(frozen=True)
class Challenge:
    """The nonce of a certificate login; the client signs ``LoginChallenge(purpose, origin, nonce)``."""

    nonce_id: str
    nonce: bytes
    expires_in: int  # seconds
    purpose: ChallengePurpose = ChallengePurpose.TRAY_LOGIN


@dataclass(frozen=True)
class VerifiedCertificate:
    """A signing certificate whose holder signed a challenge of ours: who may now get a session."""

    account_id: int
    serial: str  # of the signing certificate (hex, upper case)
    certificate: CertificateView


def client_outdated() -> ServiceError:
    return bad_request(
        "client_outdated",
        "证书助手版本过旧，使用的证书登录方式已停用；请更新证书助手到最新版本后重新登录",
    )


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
    def public_origin(self) -> str:
        """This service's origin as its clients reach it: from the configured public URL (behind a proxy,
        ``--public-url https://ca.example.cn``), never from the request. Refused when it is plain http off
        loopback: no client may sign a challenge for such an origin."""
        try:
            return service_origin(self.config.public_url)
        except InvalidOrigin as exc:
            log.error("certificate login is off: public URL %r is not usable (%s)", self.config.public_url, exc)
            raise ServiceError(
                "public_url_invalid",
                "证书服务的公开地址没有配置为 https 地址，暂时不能使用证书登录；请联系证书服务管理员"
                "（certassist-server --public-url https://…）",
                503,
            ) from exc

    def check_client_origin(self, origin: str) -> None:
        """A client that says which origin it signed for is told plainly when that is not this service's (its
        service URL, or the service's --public-url, is wrong) instead of getting "signature invalid"."""
        ours = self.public_origin()
        try:
            theirs = service_origin(origin)
        except InvalidOrigin:
            theirs = origin
        if theirs != ours:
            raise bad_request(
                "origin_mismatch",
                f"证书助手中的证书服务地址（{theirs}）与证书服务的公开地址（{ours}）不一致，无法证书登录；"
                "请在「设置 → 通用设置」中填写正确的证书服务地址，或请管理员核对 --public-url",
            )

    def new_challenge(
        self, client: Optional[str] = None, purpose: ChallengePurpose = ChallengePurpose.TRAY_LOGIN
    ) -> Challenge:
        """A single-use nonce for ``purpose``: it verifies only a challenge of that purpose."""
        nonce = secrets.token_bytes(NONCE_SIZE)
        with self.db.session() as session:
            rate_limit(session, f"nonce:{client}", 60, 600)
            ident = new_one_time(
                session, OneTimeKind.NONCE, nonce.hex(), self.config.nonce_ttl_s, subject=purpose.value
            )
        return Challenge(ident, nonce, self.config.nonce_ttl_s, purpose)

    def verify_challenge_signature(
        self,
        purpose: ChallengePurpose,
        nonce_id: str,
        certificate: bytes,
        signature: bytes,
        origin: Optional[str] = None,
        client: Optional[str] = None,
    ) -> VerifiedCertificate:
        """The one check of a certificate login, for the tray (TRAY_LOGIN) and the browser bridge (WEB_LOGIN).

        ``nonce_id`` must name a live nonce issued for ``purpose`` (it is burnt here, also when the signature
        is wrong); ``certificate`` (DER) must be a valid signing certificate of ours; ``signature`` (DER
        SM2Signature, ID 1234567812345678) must verify over ``LoginChallenge(purpose, origin, nonce)``.
        ``origin``: the origin the holder was shown, normalised by ``gm.challenge.service_origin`` -- for
        the tray ``None``, i.e. this service's configured public origin; for a web login the portal page's
        origin (one the service itself serves). Raises ServiceError (401 nonce_invalid / signature_invalid,
        400 client_outdated for a client that signed the raw nonce, 403 certificate_revoked/expired, 429).
        Rate-limited per client address and per (client, certificate): a stranger holding the public
        certificate cannot block its holder's logins.
        """
        nonce = self._burn_nonce(purpose, nonce_id, client)
        with self.db.session() as session:
            return self._check_signature(session, purpose, nonce, certificate, signature, origin, client)[0]

    def _expected_origin(self, origin: Optional[str]) -> str:
        if origin is None:
            return self.public_origin()
        try:
            return service_origin(origin)
        except InvalidOrigin as exc:
            raise bad_request("origin_invalid", f"登录页面的地址不能用于证书登录：{exc}") from exc

    def _burn_nonce(self, purpose: ChallengePurpose, nonce_id: str, client: Optional[str]) -> bytes:
        """In its own unit of work: the nonce stays burnt whatever follows."""
        with self.db.session() as session:
            rate_limit(session, f"cert-login:{client}", 30, 600)
            return self._spend_nonce(session, nonce_id, purpose)

    def _check_signature(
        self,
        session: Session,
        purpose: ChallengePurpose,
        nonce: bytes,
        certificate: bytes,
        signature: bytes,
        origin: Optional[str],
        client: Optional[str],
    ) -> Tuple[VerifiedCertificate, models.Certificate]:
        row = self.register.ours(session, certificate)
        if row.usage != CertificateUsage.SIGN:
            raise bad_request("not_signing_certificate", "请使用签名证书登录")
        rate_limit(session, f"cert-login-serial:{client}:{row.serial}", 20, 600)
        cert = self.register.check_usable(session, row)
        challenge = LoginChallenge(purpose, self._expected_origin(origin), nonce)
        try:
            cert.public_key.verify(signature, challenge.to_be_signed())
        except GMError as exc:
            audit(session, "login_certificate_failed", row.account_id, row.serial, client=client)
            if _signs(cert, signature, nonce):  # a client from before labelled challenges signed the raw nonce
                raise client_outdated() from exc
            raise unauthorized("signature_invalid", "证书签名验证失败，请确认使用的是本证书对应的设备并重试") from exc
        return VerifiedCertificate(row.account_id, row.serial, self.register.view(row, cert)), row

    def certificate_login(
        self,
        nonce_id: str,
        certificate: bytes,
        signature: bytes,
        client: Optional[str] = None,
        purpose: ChallengePurpose = ChallengePurpose.TRAY_LOGIN,
        origin: Optional[str] = None,
    ) -> Login:
        """证书登录: ``verify_challenge_signature``, then a certificate session (ending with the certificate)."""
        self._expected_origin(origin)  # a misconfigured service says so before a nonce is spent
        nonce = self._burn_nonce(purpose, nonce_id, client)
        with self.db.session() as session:
            verified, row = self._check_signature(session, purpose, nonce, certificate, signature, origin, client)
            account = session.get(models.Account, verified.account_id)
            assert account is not None
            token = self.sessions.open(session, account.id, SessionKind.CERTIFICATE, row.serial)
            audit(session, "login_certificate", account.id, row.serial, client=client, purpose=purpose.value)
            return Login(token, self.config.session_ttl_s, account_view(account), verified.certificate)

    @staticmethod
    def _spend_nonce(session: Session, nonce_id: str, purpose: ChallengePurpose) -> bytes:
        """The nonce to rebuild the challenge with; used up, also when the signature turns out to be wrong. A
        nonce issued for another purpose (a tray nonce at the web login) is refused and burnt."""
        row = lookup_one_time(session, nonce_id, OneTimeKind.NONCE)
        live = row is not None and not row.used and aware(row.expires_at) > utcnow()
        if row is not None:
            row.used = True
        # rows from before purposes were recorded have none: they were tray nonces
        if not live or row is None or (row.subject or ChallengePurpose.TRAY_LOGIN.value) != purpose.value:
            raise unauthorized("nonce_invalid", "登录请求已失效或已使用，请重新登录")
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


def _signs(cert: Certificate, signature: bytes, data: bytes) -> bool:
    try:
        cert.public_key.verify(signature, data)
    except GMError:
        return False
    return True
