"""The issuing service's operations: accounts, login, the dual-certificate lifecycle, unlock, recovery.

HTTP-free: every method takes plain values and raises ServiceError with a Chinese message that says
what to do next. The API layer (server.api) and the operator CLI (server.cli) call these.
"""

from __future__ import annotations

import base64
import hmac
import logging
import secrets
from concurrent.futures import Future
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union, cast

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from gm.envelope import envelope_key
from gm.errors import CertificateError, EncodingError, GMError, InvalidKey
from gm.sm2 import SM2PrivateKey, SM2PublicKey
from gm.x509 import (
    ENCRYPTION_KEY_USAGE,
    SIGNING_KEY_USAGE,
    Certificate,
    CertificationRequest,
    name_text,
    verify_chain,
)
from server import captcha as captcha_images
from server import mail, models
from server.batcher import Batcher
from server.ca import CertificateAuthority
from server.config import ServerConfig
from server.db import Database
from server.errors import ServiceError, bad_request, conflict, forbidden, not_found, unauthorized
from server.identity import is_valid_email, is_valid_resident_id, is_valid_uscc, mask_email
from server.mail import Mailer
from server.sealing import Sealer
from server.security import (
    audit,
    audit_entry,
    audit_many,
    aware,
    check_password,
    lookup_one_time,
    new_one_time,
    password_hash,
    rate_limit,
    secret_hash,
    token_hash,
    utcnow,
)

log = logging.getLogger(__name__)

TYPE_LABELS = {"natural": "自然人", "legal": "法人", "agency": "代理机构"}
UNLOCK_CODE_DIGITS = 8


@dataclass(frozen=True)
class Principal:
    account_id: int
    kind: str  # "account" or "certificate"
    certificate_serial: Optional[str]


@dataclass(frozen=True)
class Holder:
    """What a certificate operation needs of the account: read, and locked, with the session in one query."""

    id: int
    status: str
    applicant_name: str
    account_type: str
    id_number: str
    email: str
    may_issue: bool
    exchange_required: bool
    pending_name: Optional[str]
    name_change_approved: bool


_HOLDER_COLUMNS = [models.ACCOUNTS.c[f.name] for f in fields(Holder)]
# The certificate operations are the hot path (benchmarks/issuance.py): their statements are built once
# and run on the session's connection, without the ORM unit of work.
_SESSION_HOLDER = select(
    *_HOLDER_COLUMNS,
    models.API_SESSIONS.c.kind,
    models.API_SESSIONS.c.certificate_serial,
    models.API_SESSIONS.c.expires_at,
    models.API_SESSIONS.c.token_hash,
).join_from(models.API_SESSIONS, models.ACCOUNTS, models.API_SESSIONS.c.account_id == models.ACCOUNTS.c.id)
_AUTHORIZE = _SESSION_HOLDER.where(models.API_SESSIONS.c.token_hash == bindparam("token_hash")).with_for_update(
    of=models.ACCOUNTS
)
# A batch locks its accounts in id order: two batches (two workers) can then never deadlock.
_AUTHORIZE_MANY = (
    _SESSION_HOLDER.where(models.API_SESSIONS.c.token_hash.in_(bindparam("token_hashes", expanding=True)))
    .order_by(models.ACCOUNTS.c.id)
    .with_for_update(of=models.ACCOUNTS)
)
_INSERT_CERTIFICATE = insert(models.CERTIFICATES)  # run with both rows of a pair (executemany)
_INSERT_ESCROW = insert(models.ESCROWED_KEYS)
_INSERT_ADMIN = insert(models.ADMIN_CREDENTIALS)
# Claims re-check their flag when they write it: SQLite takes no row lock on read, so two requests for one
# account can both pass the checks; the one whose claim changes no row came second.
_ISSUED = (
    update(models.ACCOUNTS)
    .where(models.ACCOUNTS.c.id.in_(bindparam("holders", expanding=True)), models.ACCOUNTS.c.may_issue.is_(True))
    .values(may_issue=False)
)
_EXCHANGED = (
    update(models.ACCOUNTS)
    .where(models.ACCOUNTS.c.id == bindparam("holder"), models.ACCOUNTS.c.exchange_required.is_(True))
    .values(exchange_required=False, may_issue=False)
)


@dataclass(frozen=True)
class IssueResult:
    sign_certificate: bytes
    encryption_certificate: bytes
    enveloped_key: bytes  # GM/T 0009 SM2EnvelopedKey for the signing public key
    ca_chain_pem: bytes
    sign_serial: str
    not_after: str


@dataclass(frozen=True)
class IssueRequest:
    token: str
    csr_der: bytes
    admin_credential: Optional[str]
    client: Optional[str]


@dataclass(frozen=True)
class NewPair:
    """A pair made and signed (all its gm work done), and the rows that store it."""

    result: IssueResult
    certificates: List[Dict[str, Any]]
    escrow: Dict[str, Any]
    admin: Optional[Dict[str, Any]]


@dataclass(frozen=True)
class _FirstIssuance:
    index: int  # in the batch
    request: IssueRequest
    account: Holder
    sign_public: SM2PublicKey


class _ClaimLost(Exception):
    """A concurrent request (another process, on SQLite) claimed an account of the batch first."""


ISSUE_BATCH = 32  # first issuances made in one transaction at most
# Two issuing threads per worker: one makes its batch while the other's transaction waits for the commit
# (one thread left ~9 % of the cores idle in benchmarks/issuance.py, two ~3 %).
ISSUE_THREADS = 2


def _issue_not_allowed() -> ServiceError:
    return forbidden(
        "issue_not_allowed", "该账号当前不能签发新证书（已签发过证书）；如需更换请先「证书废除」或联系管理员"
    )


def _exchange_not_required() -> ServiceError:
    return conflict("exchange_not_required", "您的账号无需换发证书")


def _certificate_revoked() -> ServiceError:
    return forbidden("certificate_revoked", "该证书已废除，无法使用；请使用账号登录后重新签发证书")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class IssuingService:
    def __init__(self, config: ServerConfig, db: Database, sealer: Sealer, mailer: Mailer) -> None:
        self.config = config
        self.db = db
        self.sealer = sealer
        self.mailer = mailer
        self.ca = CertificateAuthority(config, sealer)
        self._pepper = sealer.derive("one-time-secrets")
        self._issuer: Batcher[IssueRequest, IssueResult] = Batcher(
            self._issue_batch, ISSUE_BATCH, "certassist-issue", threads=ISSUE_THREADS
        )

    def start(self) -> None:
        self.db.migrate()
        with self.db.session() as session:
            self.ca.ensure_initialized(session)

    def close(self) -> None:
        """Answer the issuances under way, deliver queued mail, release database connections."""
        self._issuer.close()
        close_mail = getattr(self.mailer, "close", None)
        if close_mail is not None:
            close_mail()
        self.db.engine.dispose()

    # -- accounts --------------------------------------------------------------------------
    def register(
        self,
        username: str,
        applicant_name: str,
        account_type: str,
        id_number: str,
        email: str,
        client: Optional[str] = None,
    ) -> models.Account:
        username, applicant_name, id_number = username.strip(), applicant_name.strip(), id_number.strip().upper()
        if not (3 <= len(username) <= 64) or not username.isprintable() or " " in username:
            raise bad_request("invalid_username", "用户名应为3-64个字符，不含空格")
        if not (1 <= len(applicant_name) <= 200):
            raise bad_request("invalid_name", "请填写申请人名称")
        if account_type not in TYPE_LABELS:
            raise bad_request("invalid_type", "申请人类型应为自然人、法人或代理机构")
        if account_type == "natural" and not is_valid_resident_id(id_number):
            raise bad_request("invalid_id_number", "居民身份证号码不正确，请核对后重新填写")
        if account_type != "natural" and not is_valid_uscc(id_number):
            raise bad_request("invalid_id_number", "统一社会信用代码不正确（18位，含校验位），请核对后重新填写")
        if not is_valid_email(email):
            raise bad_request("invalid_email", "邮箱地址格式不正确")
        with self.db.session() as session:
            if client is not None:
                rate_limit(session, f"register:{client}", 10, 3600)
            if session.scalar(select(models.Account).where(models.Account.username == username)):
                raise conflict("username_taken", "该用户名已被注册，请换一个用户名；如是您本人的账号，请直接登录")
            account = models.Account(
                username=username,
                applicant_name=applicant_name,
                account_type=account_type,
                id_number=id_number,
                email=email.strip(),
                status=models.AccountStatus.PENDING.value,
                may_issue=False,
                exchange_required=False,
                name_change_approved=False,
                failed_logins=0,
                created_at=utcnow(),
            )
            session.add(account)
            session.flush()
            audit(session, "account_registered", account.id, client=client)
            return account

    def _account(self, session: Session, username: str) -> models.Account:
        account = session.scalar(select(models.Account).where(models.Account.username == username))
        if account is None:
            raise not_found("no_account", f"没有用户名为 {username} 的账号")
        return account

    def approve(self, username: str) -> models.Account:
        with self.db.session() as session:
            account = self._account(session, username)
            account.status = models.AccountStatus.APPROVED.value
            account.may_issue = True
            account.approved_at = utcnow()
            audit(session, "account_approved", account.id)
            subject, body = mail.approval_mail(account.applicant_name, account.username)
        self.mailer.send(account.email, subject, body)
        return account

    def set_flags(self, username: str, **flags: Any) -> models.Account:
        allowed = {"may_issue", "exchange_required", "status"}
        with self.db.session() as session:
            account = self._account(session, username)
            for name, value in flags.items():
                if name not in allowed:
                    raise ValueError(name)
                setattr(account, name, value)
            audit(session, "account_flags", account.id, **flags)
            return account

    def request_name_change(self, username: str, new_name: str) -> models.Account:
        with self.db.session() as session:
            account = self._account(session, username)
            account.pending_name, account.name_change_approved = new_name.strip(), False
            audit(session, "name_change_requested", account.id, new_name=new_name)
            return account

    def holder_requests_name_change(self, principal: Principal, new_name: str) -> Dict[str, Any]:
        """The holder asks (certificate login); an operator approves; 证书更新 then applies it."""
        if principal.kind != "certificate":
            raise forbidden("certificate_login_required", "名称变更申请需要使用证书登录")
        with self.db.session() as session:
            account = session.get(models.Account, principal.account_id)
            assert account is not None
            username = account.username
        self.request_name_change(username, new_name)
        return self.show(username)

    def approve_name_change(self, username: str) -> models.Account:
        with self.db.session() as session:
            account = self._account(session, username)
            if not account.pending_name:
                raise conflict("no_name_change", "该账号没有待审核的名称变更")
            account.name_change_approved = True
            audit(session, "name_change_approved", account.id, new_name=account.pending_name)
            subject, body = mail.name_change_mail(account.applicant_name, account.pending_name)
        self.mailer.send(account.email, subject, body)
        return account

    def show(self, username: str) -> Dict[str, Any]:
        with self.db.session() as session:
            account = self._account(session, username)
            certs = session.scalars(select(models.Certificate).where(models.Certificate.account_id == account.id))
            return {
                **self._account_view(account),
                "certificates": [
                    {
                        "serial": c.serial,
                        "usage": c.usage,
                        "status": c.status,
                        "not_after": c.not_after.isoformat(),
                        "ca_generation": c.ca_generation,
                    }
                    for c in certs
                ],
            }

    def _account_view(self, account: models.Account) -> Dict[str, Any]:
        return {
            "username": account.username,
            "applicant_name": account.applicant_name,
            "account_type": account.account_type,
            "account_type_label": TYPE_LABELS[account.account_type],
            "email": mask_email(account.email),
            "status": account.status,
            "may_issue": account.may_issue,
            "exchange_required": account.exchange_required,
            "name_change_approved": account.name_change_approved,
            "pending_name": account.pending_name,
        }

    # -- captcha and login -----------------------------------------------------------------
    def new_captcha(self, client: Optional[str] = None) -> Dict[str, Any]:
        answer = captcha_images.new_answer()
        with self.db.session() as session:
            rate_limit(session, f"captcha:{client}", 60, 600)
            ident = new_one_time(session, "captcha", secret_hash(self._pepper, answer), self.config.captcha_ttl_s)
        return {
            "captcha_id": ident,
            "image_png": _b64(captcha_images.render(answer)),
            "expires_in": self.config.captcha_ttl_s,
        }

    def _check_captcha(self, session: Session, ident: str, answer: str) -> None:
        row = lookup_one_time(session, ident, "captcha")
        ok = (
            row is not None
            and not row.used
            and aware(row.expires_at) > utcnow()
            and hmac.compare_digest(row.secret_hash, secret_hash(self._pepper, answer.strip().upper()))
        )
        if row is not None:
            row.used = True  # single use, right or wrong
        if not ok:
            raise bad_request("captcha_invalid", "验证码错误或已过期，请点击图片换一张后重新输入")

    def account_login(
        self, username: str, applicant_name: str, captcha_id: str, captcha_answer: str, client: Optional[str] = None
    ) -> Dict[str, Any]:
        with self.db.session() as session:
            rate_limit(session, f"login-client:{client}", 30, 600)
            rate_limit(session, f"login-user:{username}", 20, 600)
            self._check_captcha(session, captcha_id, captcha_answer)
        with self.db.session() as session:
            account = session.scalar(
                select(models.Account).where(models.Account.username == username.strip()).with_for_update()
            )
            now = utcnow()
            if account is not None and account.locked_until and aware(account.locked_until) > now:
                minutes = int((aware(account.locked_until) - now).total_seconds() // 60) + 1
                raise ServiceError(
                    "account_locked",
                    f"登录失败次数过多，账号已临时锁定，请{minutes}分钟后再试",
                    429,
                    retry_after=minutes * 60,
                )
            if account is None or account.applicant_name != applicant_name.strip():
                if account is not None:
                    account.failed_logins += 1
                    if account.failed_logins >= self.config.login_failures_before_lockout:
                        account.locked_until = now + timedelta(minutes=self.config.lockout_minutes)
                        account.failed_logins = 0
                    audit(session, "login_failed", account.id, client=client)
                raise unauthorized(
                    "login_failed", "用户名或申请人名称不正确，请核对后重试（申请人名称需与注册时完全一致）"
                )
            if account.status == models.AccountStatus.PENDING.value:
                raise forbidden("account_pending", "账号尚未审核通过，审核通过后会发送邮件通知您")
            if account.status == models.AccountStatus.DISABLED.value:
                raise forbidden("account_disabled", "账号已停用，请联系管理员")
            account.failed_logins = 0
            token = self._new_session(session, account.id, "account", None)
            audit(session, "login_account", account.id, client=client)
            return {"token": token, "expires_in": self.config.session_ttl_s, "account": self._account_view(account)}

    def _new_session(self, session: Session, account_id: int, kind: str, serial: Optional[str]) -> str:
        token = secrets.token_urlsafe(32)
        session.add(
            models.ApiSession(
                token_hash=token_hash(token),
                account_id=account_id,
                kind=kind,
                certificate_serial=serial,
                expires_at=utcnow() + timedelta(seconds=self.config.session_ttl_s),
            )
        )
        return token

    def new_nonce(self, client: Optional[str] = None) -> Dict[str, Any]:
        nonce = secrets.token_bytes(32)
        with self.db.session() as session:
            rate_limit(session, f"nonce:{client}", 60, 600)
            ident = new_one_time(session, "nonce", nonce.hex(), self.config.nonce_ttl_s)
        return {"nonce_id": ident, "nonce": _b64(nonce), "expires_in": self.config.nonce_ttl_s}

    def _our_certificate(self, session: Session, der: bytes) -> models.Certificate:
        try:
            cert = Certificate.from_der(der)
        except (EncodingError, GMError) as exc:
            raise bad_request("certificate_invalid", "无法读取该证书，请重新选择") from exc
        row = session.scalar(select(models.Certificate).where(models.Certificate.serial == f"{cert.serial_number:X}"))
        if row is None or row.der != cert.to_der():
            raise not_found("certificate_unknown", "该证书不是本系统签发的证书，请选择证书助手签发的证书")
        return row

    def _check_usable(self, session: Session, row: models.Certificate) -> Certificate:
        if row.status == models.CertStatus.REVOKED.value:
            raise _certificate_revoked()
        cert = Certificate.from_der(row.der)
        issuing = self.ca.issuing_certificates(session)
        try:
            verify_chain(cert, [self.ca.root(session)], list(issuing.values()))
        except CertificateError as exc:
            if exc.reason == "expired":
                raise forbidden("certificate_expired", "该证书已过期；请使用账号登录后重新签发证书") from exc
            raise forbidden("certificate_invalid", f"证书校验失败（{exc.reason}）") from exc
        return cert

    def certificate_login(
        self, nonce_id: str, certificate: bytes, signature: bytes, client: Optional[str] = None
    ) -> Dict[str, Any]:
        with self.db.session() as session:
            rate_limit(session, f"cert-login:{client}", 30, 600)
            row = lookup_one_time(session, nonce_id, "nonce")
            if row is None or row.used or aware(row.expires_at) <= utcnow():
                if row is not None:
                    row.used = True
                raise unauthorized("nonce_invalid", "登录请求已失效或已使用，请重新登录")
            row.used = True  # single use, also when the signature turns out to be wrong
            nonce = bytes.fromhex(row.secret_hash)
        with self.db.session() as session:
            cert_row = self._our_certificate(session, certificate)
            if cert_row.usage != "sign":
                raise bad_request("not_signing_certificate", "请使用签名证书登录")
            rate_limit(session, f"cert-login-serial:{cert_row.serial}", 20, 600)
            cert = self._check_usable(session, cert_row)
            try:
                cert.public_key.verify(signature, nonce)
            except GMError as exc:
                audit(session, "login_certificate_failed", cert_row.account_id, cert_row.serial, client=client)
                raise unauthorized(
                    "signature_invalid", "证书签名验证失败，请确认使用的是本证书对应的设备并重试"
                ) from exc
            account = session.get(models.Account, cert_row.account_id)
            assert account is not None
            token = self._new_session(session, account.id, "certificate", cert_row.serial)
            audit(session, "login_certificate", account.id, cert_row.serial, client=client)
            return {
                "token": token,
                "expires_in": self.config.session_ttl_s,
                "account": self._account_view(account),
                "certificate": self._certificate_view(cert_row, cert),
            }

    def principal(self, token: str) -> Principal:
        with self.db.session() as session:
            row = session.get(models.ApiSession, token_hash(token))
            self._check_live(row.expires_at if row else None)
            assert row is not None
            return Principal(row.account_id, row.kind, row.certificate_serial)

    @staticmethod
    def _check_live(expires_at: Optional[datetime]) -> None:
        if expires_at is None or aware(expires_at) <= utcnow():
            raise unauthorized("session_invalid", "登录已过期，请重新登录")

    def _authorize(self, session: Session, token: str) -> Tuple[Principal, Holder]:
        """The token's principal and its approved account, locked for this unit of work, in one query.

        The certificate operations resolve their session inside their own transaction: one transaction
        fewer per issuance than a separate ``principal()`` call.
        """
        row = session.connection().execute(_AUTHORIZE, {"token_hash": token_hash(token)}).first()
        self._check_live(row.expires_at if row else None)
        assert row is not None
        holder = Holder(*row[: len(_HOLDER_COLUMNS)])
        self._check_approved(holder.status)
        return Principal(holder.id, row.kind, row.certificate_serial), holder

    def logout(self, token: str) -> None:
        with self.db.session() as session:
            row = session.get(models.ApiSession, token_hash(token))
            if row is not None:
                session.delete(row)

    def _certificate_view(self, row: models.Certificate, cert: Certificate) -> Dict[str, Any]:
        days = cert.days_left()
        return {
            "serial": row.serial,
            "subject": cert.subject_text,
            "issuer": cert.issuer_text,
            "not_after": cert.not_after.isoformat(),
            "days_left": days,
            "renewal_allowed": days <= self.config.renewal_window_days,
        }

    def me(self, principal: Principal) -> Dict[str, Any]:
        with self.db.session() as session:
            account = session.get(models.Account, principal.account_id)
            assert account is not None
            result: Dict[str, Any] = {"session": principal.kind, "account": self._account_view(account)}
            if principal.kind == "certificate":
                row = self._session_certificate(session, principal, "查看证书")
                result["certificate"] = self._certificate_view(row, Certificate.from_der(row.der))
            return result

    # -- lifecycle -------------------------------------------------------------------------
    def _load_account(self, session: Session, principal: Principal) -> models.Account:
        account = session.get(models.Account, principal.account_id, with_for_update=True)
        self._check_approved(account.status if account else None)
        assert account is not None
        return account

    @staticmethod
    def _check_approved(status: Optional[str]) -> None:
        if status != models.AccountStatus.APPROVED.value:
            raise forbidden("account_not_approved", "账号未审核通过或已停用，无法办理证书业务")

    def _session_certificate(
        self, session: Session, principal: Principal, action: str, lock: bool = False
    ) -> models.Certificate:
        """The certificate a certificate session logged in with; refuses an account session."""
        if principal.kind != "certificate" or principal.certificate_serial is None:
            raise forbidden("certificate_login_required", f"{action}需要使用证书登录")
        query = select(models.Certificate).where(models.Certificate.serial == principal.certificate_serial)
        row = session.scalar(query.with_for_update() if lock else query)
        assert row is not None  # sessions are created only for stored certificates
        return row

    def _admin_credential(self, session: Session, pair_serial: str) -> Optional[models.AdminCredential]:
        return session.scalar(select(models.AdminCredential).where(models.AdminCredential.pair_serial == pair_serial))

    def _subject(self, account: Holder, name: Optional[str] = None) -> Dict[str, str]:
        """GM/T 0015 style: C, O (organisations), OU = applicant type, CN = 申请人名称, serialNumber = ID."""
        name = name or account.applicant_name
        subject = {
            "country_name": "CN",
            "common_name": name,
            "serial_number": account.id_number,
            "organizational_unit_name": TYPE_LABELS[account.account_type],
        }
        if account.account_type != "natural":
            subject["organization_name"] = name
        return subject

    def _parse_csr(self, csr_der: bytes) -> SM2PublicKey:
        try:
            request = CertificationRequest.load(csr_der)
            request.verify()  # proof of possession of the signing key
            return request.public_key
        except (CertificateError, EncodingError, InvalidKey, GMError) as exc:
            raise bad_request(
                "csr_invalid", "证书请求无效（签名验证失败或格式错误），请重试；如反复失败请使用「环境修复」"
            ) from exc

    def _existing_pair(self, session: Session, account: Holder, sign_public: SM2PublicKey) -> Optional[IssueResult]:
        """The valid pair already issued to this account for this signing key, if any.

        Makes issuance idempotent: a client whose connection dropped after the CA had answered asks again
        with the same key (still on its device) and receives the same certificates, enveloped afresh.
        """
        rows = session.scalars(
            select(models.Certificate).where(
                models.Certificate.account_id == account.id,
                models.Certificate.usage == "sign",
                models.Certificate.status == models.CertStatus.VALID.value,
            )
        )
        for row in rows:
            sign_cert = Certificate.from_der(row.der)
            if sign_cert.public_key != sign_public:
                continue
            enc_row = session.scalar(
                select(models.Certificate).where(
                    models.Certificate.pair_serial == row.pair_serial, models.Certificate.usage == "encrypt"
                )
            )
            escrow = (
                session.scalar(
                    select(models.EscrowedKey).where(models.EscrowedKey.certificate_serial == enc_row.serial)
                )
                if enc_row
                else None
            )
            if enc_row is None or escrow is None:
                return None
            encryption_key = SM2PrivateKey.from_raw(self.sealer.open(escrow.sealed_key, f"escrow/{enc_row.serial}"))
            envelope = envelope_key(encryption_key, sign_public)
            return IssueResult(
                row.der,
                enc_row.der,
                envelope.to_der(),
                self.ca.chain_pem(session, fresh=False),
                row.serial,
                f"{sign_cert.not_after:%Y-%m-%d}",
            )
        return None

    def _repeat(
        self,
        session: Session,
        account: Holder,
        sign_public: SM2PublicKey,
        admin_credential: Optional[str],
        client: Optional[str],
    ) -> Optional[IssueResult]:
        existing = self._existing_pair(session, account, sign_public)
        if existing is not None:
            if admin_credential:  # a resumed client rotated its admin credential: escrow the new one
                self._escrow_admin(session, existing.sign_serial, admin_credential)
            audit(session, "certificate_resent", account.id, existing.sign_serial, client=client)
        return existing

    def _escrow_admin(self, session: Session, pair_serial: str, admin_credential: str) -> None:
        sealed = self.sealer.seal(admin_credential.encode(), f"admin/{pair_serial}")
        stored = self._admin_credential(session, pair_serial)
        if stored is None:
            session.add(models.AdminCredential(pair_serial=pair_serial, sealed_secret=sealed, created_at=utcnow()))
        else:
            stored.sealed_secret = sealed

    def _new_pair(
        self,
        session: Session,
        account: Holder,
        sign_public: SM2PublicKey,
        admin_credential: Optional[str],
        name: Optional[str] = None,
    ) -> NewPair:
        subject = self._subject(account, name)
        not_after = utcnow() + timedelta(days=self.config.validity_days)
        sign = self.ca.issue(session, subject, sign_public, SIGNING_KEY_USAGE, not_after)
        encryption_key = SM2PrivateKey.generate()  # KMC: generated here, escrowed below, never sent in clear
        enc = self.ca.issue(session, subject, encryption_key.public_key, ENCRYPTION_KEY_USAGE, not_after)
        pair, enc_serial = sign.serial, enc.serial
        now = utcnow()
        subject_text = name_text(subject)  # of both certificates; from the dict, not re-parsed from DER
        rows: List[Dict[str, Any]] = [
            {
                "serial": issued.serial,
                "account_id": account.id,
                "pair_serial": pair,
                "usage": usage,
                "ca_generation": issued.generation,
                "subject": subject_text,
                "not_before": issued.not_before,
                "not_after": issued.not_after,
                "status": models.CertStatus.VALID.value,
                "der": issued.certificate.to_der(),
                "created_at": now,
            }
            for issued, usage in ((sign, "sign"), (enc, "encrypt"))
        ]
        sealed_key = self.sealer.seal(encryption_key.to_raw(), f"escrow/{enc_serial}")
        escrow = {"certificate_serial": enc_serial, "sealed_key": sealed_key, "created_at": now}
        admin: Optional[Dict[str, Any]] = None
        if admin_credential:  # a new pair: nothing escrowed for it yet
            sealed = self.sealer.seal(admin_credential.encode(), f"admin/{pair}")
            admin = {"pair_serial": pair, "sealed_secret": sealed, "created_at": now}
        result = IssueResult(
            sign.certificate.to_der(),
            enc.certificate.to_der(),
            envelope_key(encryption_key, sign_public).to_der(),
            self.ca.chain_pem(session, fresh=False),
            pair,
            f"{sign.not_after:%Y-%m-%d}",
        )
        return NewPair(result, rows, escrow, admin)

    @staticmethod
    def _store_pairs(session: Session, pairs: List[NewPair]) -> None:
        """Both certificates, the escrowed key and the admin credential of every pair: three statements."""
        connection = session.connection()
        connection.execute(_INSERT_CERTIFICATE, [row for pair in pairs for row in pair.certificates])
        connection.execute(_INSERT_ESCROW, [pair.escrow for pair in pairs])
        admins = [pair.admin for pair in pairs if pair.admin is not None]
        if admins:
            connection.execute(_INSERT_ADMIN, admins)

    def _issue_pair(
        self,
        session: Session,
        account: Holder,
        sign_public: SM2PublicKey,
        admin_credential: Optional[str],
        name: Optional[str] = None,
    ) -> IssueResult:
        pair = self._new_pair(session, account, sign_public, admin_credential, name)
        self._store_pairs(session, [pair])
        return pair.result

    def _revoke_pair(self, session: Session, pair_serial: str, reason: str) -> List[int]:
        """Revoke the pair's valid certificates; the CA generations whose CRL changes (none: already revoked)."""
        revoked = session.execute(
            update(models.Certificate)
            .where(
                models.Certificate.pair_serial == pair_serial,
                models.Certificate.status == models.CertStatus.VALID.value,
            )
            .values(status=models.CertStatus.REVOKED.value, revoked_at=utcnow(), revocation_reason=reason)
            .returning(models.Certificate.ca_generation),
            execution_options={"synchronize_session": "fetch"},  # loaded rows see it (CRL entries)
        )
        return sorted(set(revoked.scalars()))

    def _came_second(
        self,
        session: Session,
        account: Holder,
        sign_public: SM2PublicKey,
        admin_credential: Optional[str],
        client: Optional[str],
        refusal: ServiceError,
    ) -> IssueResult:
        """A concurrent request for this account committed first: drop this pair (never sent, so nothing
        is lost) and answer as the later of two sequential requests would be answered."""
        session.rollback()
        repeated = self._repeat(session, account, sign_public, admin_credential, client)
        if repeated is None:
            raise refusal
        return repeated

    @staticmethod
    def _set_account(session: Session, account_id: int, **values: Any) -> None:
        session.connection().execute(update(models.ACCOUNTS).where(models.ACCOUNTS.c.id == account_id).values(**values))

    def _notify_issued(self, account: Holder, result: IssueResult) -> None:
        subject, body = mail.issued_mail(account.applicant_name, result.sign_serial, result.not_after)
        self.mailer.send(account.email, subject, body)

    def issue(
        self, token: str, csr_der: bytes, admin_credential: Optional[str], client: Optional[str] = None
    ) -> IssueResult:
        """证书签发; waits for the answer (see ``issue_later``)."""
        return self.issue_later(token, csr_der, admin_credential, client).result()

    def issue_later(
        self, token: str, csr_der: bytes, admin_credential: Optional[str], client: Optional[str] = None
    ) -> Future[IssueResult]:
        """证书签发 on an issuing thread: first issuances that arrive together share one transaction."""
        return self._issuer.submit(IssueRequest(token, csr_der, admin_credential, client))

    def _issue_batch(self, requests: Sequence[IssueRequest]) -> List[Union[IssueResult, BaseException]]:
        """First issuances in one transaction. Every other request (a refusal, a retry, a second request for
        one account) then goes through ``_issue_one``, which gives it the answer it would get alone."""
        outcomes: List[Optional[Union[IssueResult, BaseException]]] = [None] * len(requests)
        issued: List[Tuple[int, Holder]] = []
        try:
            with self.db.session() as session:
                issued = self._issue_first_pairs(session, requests, outcomes)
        except Exception as exc:  # nothing of the shared transaction is kept: each request alone, below
            log.info("a batch of %d issuances is retried one by one: %r", len(requests), exc)
            outcomes, issued = [None] * len(requests), []
        for index, account in issued:
            self._notify_issued(account, cast(IssueResult, outcomes[index]))
        for index, request in enumerate(requests):
            if outcomes[index] is None:
                try:
                    outcomes[index] = self._issue_one(request)
                except Exception as exc:  # the request's own answer (a ServiceError is a refusal)
                    outcomes[index] = exc
        return cast(List[Union[IssueResult, BaseException]], outcomes)

    def _issue_first_pairs(
        self,
        session: Session,
        requests: Sequence[IssueRequest],
        outcomes: List[Optional[Union[IssueResult, BaseException]]],
    ) -> List[Tuple[int, Holder]]:
        """Issue to every request that is plainly a first issuance; the (index, holder) of each one issued."""
        hashes = [token_hash(request.token) for request in requests]
        connection = session.connection()
        found = {
            row.token_hash: row for row in connection.execute(_AUTHORIZE_MANY, {"token_hashes": sorted(set(hashes))})
        }
        now = utcnow()
        chosen: List[_FirstIssuance] = []
        accounts: set[int] = set()  # a second request for one account goes one by one
        for index, (request, hashed) in enumerate(zip(requests, hashes)):
            row = found.get(hashed)
            if row is None or not self._plain_first_issuance(row, now) or row.id in accounts:
                continue
            try:
                sign_public = self._parse_csr(request.csr_der)
            except ServiceError:
                continue
            accounts.add(row.id)
            chosen.append(_FirstIssuance(index, request, Holder(*row[: len(_HOLDER_COLUMNS)]), sign_public))
        if not chosen:
            return []
        pairs = [self._new_pair(session, c.account, c.sign_public, c.request.admin_credential) for c in chosen]
        self._store_pairs(session, pairs)
        if connection.execute(_ISSUED, {"holders": [c.account.id for c in chosen]}).rowcount != len(chosen):
            raise _ClaimLost()
        audit_many(
            session,
            [
                audit_entry("certificate_issued", c.account.id, pair.result.sign_serial, client=c.request.client)
                for c, pair in zip(chosen, pairs)
            ],
        )
        for c, pair in zip(chosen, pairs):
            outcomes[c.index] = pair.result
        return [(c.index, c.account) for c in chosen]

    @staticmethod
    def _plain_first_issuance(row: Any, now: datetime) -> bool:
        """A live account session of an approved account that may issue and need not exchange."""
        return (
            row.kind == "account"
            and row.expires_at is not None
            and aware(row.expires_at) > now
            and row.status == models.AccountStatus.APPROVED.value
            and row.may_issue
            and not row.exchange_required
        )

    def _issue_one(self, request: IssueRequest) -> IssueResult:
        admin_credential, client = request.admin_credential, request.client
        with self.db.session() as session:
            principal, account = self._authorize(session, request.token)
            if principal.kind != "account":
                raise forbidden("account_login_required", "证书签发需要使用账号登录")
            sign_public = self._parse_csr(request.csr_der)  # proof of possession
            # A first issuance needs no look for an earlier pair: only a refused one may be a retry.
            if not account.may_issue or account.exchange_required:
                repeated = self._repeat(session, account, sign_public, admin_credential, client)
                if repeated is not None:
                    return repeated
            if account.exchange_required:
                raise conflict("exchange_required", "您的账号需要办理「证书换发」，请在右键菜单中选择「证书换发」")
            if not account.may_issue:
                raise _issue_not_allowed()
            result = self._issue_pair(session, account, sign_public, admin_credential)
            if not session.connection().execute(_ISSUED, {"holders": [account.id]}).rowcount:
                return self._came_second(session, account, sign_public, admin_credential, client, _issue_not_allowed())
            audit(session, "certificate_issued", account.id, result.sign_serial, client=client)
        self._notify_issued(account, result)
        return result

    def exchange(
        self, token: str, csr_der: bytes, admin_credential: Optional[str], client: Optional[str] = None
    ) -> IssueResult:
        with self.db.session() as session:
            _principal, account = self._authorize(session, token)
            sign_public = self._parse_csr(csr_der)  # proof of possession
            repeated = self._repeat(session, account, sign_public, admin_credential, client)
            if repeated is not None:
                return repeated
            if not account.exchange_required:
                raise _exchange_not_required()
            old_pairs = set(
                session.scalars(
                    select(models.Certificate.pair_serial).where(
                        models.Certificate.account_id == account.id,
                        models.Certificate.status == models.CertStatus.VALID.value,
                    )
                )
            )
            result = self._issue_pair(session, account, sign_public, admin_credential)
            if not session.connection().execute(_EXCHANGED, {"holder": account.id}).rowcount:
                return self._came_second(
                    session, account, sign_public, admin_credential, client, _exchange_not_required()
                )
            for pair in old_pairs:
                for generation in self._revoke_pair(session, pair, "superseded"):
                    self.ca.refresh_crl(session, generation)
            audit(
                session,
                "certificate_exchanged",
                account.id,
                result.sign_serial,
                client=client,
                replaced=sorted(old_pairs),
            )
        self._notify_issued(account, result)
        return result

    def update(
        self, token: str, csr_der: bytes, admin_credential: Optional[str], client: Optional[str] = None
    ) -> IssueResult:
        """Renewal (from N days before expiry) or company-name change once approved."""
        with self.db.session() as session:
            principal, account = self._authorize(session, token)
            row = self._session_certificate(session, principal, "证书更新", lock=True)
            sign_public = self._parse_csr(csr_der)  # proof of possession
            repeated = self._repeat(session, account, sign_public, admin_credential, client)
            if repeated is not None:
                return repeated
            cert = self._check_usable(session, row)
            new_name = account.pending_name if account.name_change_approved else None
            days = cert.days_left()
            if new_name is None and days > self.config.renewal_window_days:
                raise conflict(
                    "renewal_too_early",
                    f"证书还有{days}天到期，到期前{self.config.renewal_window_days}天内才能办理证书更新",
                )
            result = self._issue_pair(session, account, sign_public, admin_credential, name=new_name)
            generations = self._revoke_pair(session, row.pair_serial, "superseded")
            if not generations:  # a concurrent 证书更新 of this certificate committed first
                return self._came_second(
                    session, account, sign_public, admin_credential, client, _certificate_revoked()
                )
            for generation in generations:
                self.ca.refresh_crl(session, generation)
            if new_name is not None:
                self._set_account(
                    session, account.id, applicant_name=new_name, pending_name=None, name_change_approved=False
                )
                account = replace(account, applicant_name=new_name)  # the notice uses the new name
            audit(
                session,
                "certificate_updated",
                account.id,
                result.sign_serial,
                client=client,
                replaced=row.pair_serial,
                name_change=new_name is not None,
            )
        self._notify_issued(account, result)
        return result

    def revoke(
        self, principal: Principal, reason: str = "cessation_of_operation", client: Optional[str] = None
    ) -> Dict[str, Any]:
        if reason not in ("cessation_of_operation", "key_compromise", "affiliation_changed", "superseded"):
            raise bad_request("invalid_reason", "废除原因不正确")
        with self.db.session() as session:
            account = self._load_account(session, principal)
            row = self._session_certificate(session, principal, "证书废除")
            generations = self._revoke_pair(session, row.pair_serial, reason)
            if not generations:
                raise conflict("already_revoked", "该证书已经废除")
            for generation in generations:
                self.ca.refresh_crl(session, generation)
            account.may_issue = True  # a holder without a certificate can always get a new one
            for api_session in session.scalars(
                select(models.ApiSession).where(models.ApiSession.certificate_serial == row.serial)
            ):
                session.delete(api_session)
            audit(session, "certificate_revoked", account.id, row.pair_serial, client=client, reason=reason)
            return {"revoked": row.pair_serial, "crl_url": self.ca.crl_url(generations[0])}

    # -- unlock ----------------------------------------------------------------------------
    def unlock_request(self, certificate: bytes, client: Optional[str] = None) -> Dict[str, Any]:
        with self.db.session() as session:
            rate_limit(session, f"unlock-client:{client}", 10, 3600)
            row = self._our_certificate(session, certificate)
            rate_limit(session, f"unlock-serial:{row.pair_serial}", 3, 3600)
            cert = self._check_usable(session, row)
            if self._admin_credential(session, row.pair_serial) is None:
                raise conflict(
                    "no_admin_credential", "该证书签发时未托管解锁凭据，无法在线解锁；请联系证书颁发机构或重新签发证书"
                )
            account = session.get(models.Account, row.account_id)
            assert account is not None
            code = "".join(secrets.choice("0123456789") for _ in range(UNLOCK_CODE_DIGITS))
            ident = new_one_time(
                session,
                "unlock",
                secret_hash(self._pepper, code),
                self.config.unlock_code_ttl_s,
                attempts=self.config.unlock_code_attempts,
                subject=row.pair_serial,
            )
            holder = f"{cert.common_name or cert.subject_text}（{'签名证书' if row.usage == 'sign' else '加密证书'}）"
            audit(session, "unlock_code_sent", account.id, row.pair_serial, client=client)
            subject, body = mail.unlock_mail(
                account.applicant_name,
                holder,
                code,
                self.config.unlock_code_ttl_s // 60,
                self.config.unlock_code_attempts,
            )
            email = account.email
        self.mailer.send(email, subject, body)
        return {
            "unlock_id": ident,
            "email": mask_email(email),
            "holder": holder,
            "expires_in": self.config.unlock_code_ttl_s,
            "attempts": self.config.unlock_code_attempts,
        }

    def unlock_complete(self, unlock_id: str, certificate: bytes, code: str, client: Optional[str] = None) -> str:
        """The container's escrowed admin credential, for a valid unlock code; nothing else."""
        with self.db.session() as session:
            rate_limit(session, f"unlock-code-client:{client}", 30, 600)
            row = self._our_certificate(session, certificate)
            request = lookup_one_time(session, unlock_id, "unlock")
            if request is None or request.subject != row.pair_serial or request.used:
                raise bad_request("unlock_code_invalid", "解锁码无效或已使用，请重新申请解锁码")
            if aware(request.expires_at) <= utcnow():
                request.used = True
                raise bad_request("unlock_code_expired", "解锁码已过期，请重新申请解锁码")
            if request.attempts_left <= 0:
                raise bad_request("unlock_code_exhausted", "解锁码错误次数过多已失效，请重新申请解锁码")
            if not hmac.compare_digest(request.secret_hash, secret_hash(self._pepper, code.strip())):
                request.attempts_left -= 1
                audit(session, "unlock_code_wrong", row.account_id, row.pair_serial, client=client)
                left = request.attempts_left
                if left <= 0:
                    request.used = True
                    raise bad_request("unlock_code_exhausted", "解锁码错误次数过多已失效，请重新申请解锁码")
                raise bad_request("unlock_code_wrong", f"解锁码错误，还可以尝试{left}次")
            request.used = True
            stored = self._admin_credential(session, row.pair_serial)
            assert stored is not None
            audit(session, "unlock_released", row.account_id, row.pair_serial, client=client)
            return self.sealer.open(stored.sealed_secret, f"admin/{row.pair_serial}").decode()

    def update_admin_credential(self, principal: Principal, admin_credential: str) -> None:
        """After an unlock or a PIN reset the device may rotate its admin credential: escrow the new one."""
        with self.db.session() as session:
            row = self._session_certificate(session, principal, "托管解锁凭据")
            self._escrow_admin(session, row.pair_serial, admin_credential)
            audit(session, "admin_credential_escrowed", principal.account_id, row.pair_serial)

    # -- recovery without traps ------------------------------------------------------------
    def change_email(self, principal: Principal, new_email: str, client: Optional[str] = None) -> Dict[str, Any]:
        if principal.kind != "certificate":
            raise forbidden("certificate_login_required", "修改注册邮箱需要使用证书登录（有效证书即可证明身份）")
        if not is_valid_email(new_email):
            raise bad_request("invalid_email", "邮箱地址格式不正确")
        with self.db.session() as session:
            account = self._load_account(session, principal)
            old = account.email
            account.email = new_email.strip()
            audit(session, "email_changed", account.id, principal.certificate_serial, client=client)
            subject, body = mail.email_changed_mail(account.applicant_name, new_email)
            view = self._account_view(account)
        for address in {old, new_email}:
            self.mailer.send(address, subject, body)
        return view

    def set_password(self, principal: Principal, password: str, client: Optional[str] = None) -> None:
        if principal.kind != "certificate":
            raise forbidden("certificate_login_required", "重置密码需要使用证书登录（有效证书即可证明身份）")
        if not (8 <= len(password) <= 64):
            raise bad_request("invalid_password", "密码应为8-64个字符")
        with self.db.session() as session:
            account = self._load_account(session, principal)
            account.password_hash = password_hash(password)
            audit(session, "password_reset", account.id, principal.certificate_serial, client=client)

    def verify_password(self, username: str, password: str) -> bool:
        with self.db.session() as session:
            account = self._account(session, username)
            return bool(account.password_hash) and check_password(password, account.password_hash or "")
