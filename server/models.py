"""Stored schema (SQLAlchemy 2). Migrations: server/migrations (Alembic). Secrets are stored sealed or hashed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Optional, TypeVar, cast

from sqlalchemy import (
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from server.domain import (
    AccountStatus,
    AccountType,
    CaRole,
    CertificateUsage,
    CertStatus,
    MailStatus,
    OneTimeKind,
    RevocationReason,
    SessionKind,
)

E = TypeVar("E", bound=StrEnum)


class StoredEnum(TypeDecorator[E], Generic[E]):
    """An enum kept as its value in a VARCHAR column: the column type, the migrations and the stored strings
    are those of the plain strings used before the enums; Python code reads and writes enum members."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum
        self.length = length

    def process_bind_param(self, value: Any, dialect: Dialect) -> Optional[str]:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Optional[str], dialect: Dialect) -> Optional[E]:
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    applicant_name: Mapped[str] = mapped_column(String(200))
    account_type: Mapped[AccountType] = mapped_column(StoredEnum(AccountType, 16))
    id_number: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(254))
    status: Mapped[AccountStatus] = mapped_column(StoredEnum(AccountStatus, 16), default=AccountStatus.PENDING)
    may_issue: Mapped[bool] = mapped_column(Boolean, default=False)
    exchange_required: Mapped[bool] = mapped_column(Boolean, default=False)
    pending_name: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)
    name_change_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # unused: no account lockout (issue 13.6)
    locked_until: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    approved_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True), nullable=True)


class CaKey(Base):
    """A CA certificate and its sealed private key. ``generation`` grows with each issuing-CA rotation."""

    __tablename__ = "ca_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[CaRole] = mapped_column(StoredEnum(CaRole, 16))
    generation: Mapped[int] = mapped_column(Integer)
    certificate: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (UniqueConstraint("role", "generation"),)


class Certificate(Base):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)  # hex, upper case
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    pair_serial: Mapped[str] = mapped_column(String(64), index=True)  # the signing certificate of the pair
    usage: Mapped[CertificateUsage] = mapped_column(StoredEnum(CertificateUsage, 8))
    ca_generation: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(Text)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[CertStatus] = mapped_column(StoredEnum(CertStatus, 8), default=CertStatus.VALID)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True), nullable=True)
    revocation_reason: Mapped[Optional[RevocationReason]] = mapped_column(
        StoredEnum(RevocationReason, 32), nullable=True
    )
    der: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_certificates_account_status", "account_id", "status"),)


class EscrowedKey(Base):
    """KMC escrow: the encryption private key of an encryption certificate, sealed under the server key."""

    __tablename__ = "escrowed_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_serial: Mapped[str] = mapped_column(String(64), unique=True)
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AdminCredential(Base):
    """The device's admin credential escrowed at issuance, released only for a valid unlock code."""

    __tablename__ = "admin_credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pair_serial: Mapped[str] = mapped_column(String(64), unique=True)
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OneTimeSecret(Base):
    """Captchas, login nonces and unlock codes: hashed, expiring, single use, attempt-limited."""

    __tablename__ = "one_time_secrets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[OneTimeKind] = mapped_column(StoredEnum(OneTimeKind, 16))
    secret_hash: Mapped[str] = mapped_column(String(128))
    subject: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)  # e.g. the certificate serial
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts_left: Mapped[int] = mapped_column(Integer, default=1)
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiSession(Base):
    __tablename__ = "api_sessions"

    token_hash: Mapped[str] = mapped_column(String(128), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[SessionKind] = mapped_column(StoredEnum(SessionKind, 16))
    certificate_serial: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # What opened 证书签发 / 证书换发 to this account session: the id of the issuance code given (spent by the
    # issuance), or "password" (issue 13.3).
    issuance_grant: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)


class RateLimit(Base):
    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    count: Mapped[int] = mapped_column(Integer, default=0)


class CrlState(Base):
    """The current CRL of each issuing-CA generation, and of the root as generation 0 (ROOT_CRL)."""

    __tablename__ = "crls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ca_generation: Mapped[int] = mapped_column(Integer, unique=True)
    number: Mapped[int] = mapped_column(Integer)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    this_update: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_update: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    event: Mapped[str] = mapped_column(String(48))
    account_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    certificate_serial: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    client: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")  # never a secret


ROOT_CRL = 0  # CrlState.ca_generation of the root's CRL (issuing-CA generations count from 1)


class MailMessage(Base):
    """The mail outbox: a mail is written in the transaction of its event and delivered by whichever worker
    claims it (server.delivery). Subject and body are sealed: the body may hold an unlock code."""

    __tablename__ = "mail_outbox"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # random; the Message-ID's left part
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recipient: Mapped[str] = mapped_column(String(254))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[MailStatus] = mapped_column(StoredEnum(MailStatus, 8), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[Optional[str]] = mapped_column(String(80), nullable=True)
    claimed_until: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True), nullable=True)
    sent_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)
    __table_args__ = (Index("ix_mail_outbox_due", "status", "next_attempt_at"),)


class ServiceJob(Base):
    """When a periodic job (housekeeping) last ran, and where: any worker of any host may run it, one a period."""

    __tablename__ = "service_jobs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ran_by: Mapped[str] = mapped_column(String(80))


# Table handles for the statements of the issuance hot path, which skip the ORM unit of work.
ACCOUNTS = cast(Table, Account.__table__)
API_SESSIONS = cast(Table, ApiSession.__table__)
CERTIFICATES = cast(Table, Certificate.__table__)
ESCROWED_KEYS = cast(Table, EscrowedKey.__table__)
ADMIN_CREDENTIALS = cast(Table, AdminCredential.__table__)
AUDIT_LOG = cast(Table, AuditEvent.__table__)
MAIL_OUTBOX = cast(Table, MailMessage.__table__)
SERVICE_JOBS = cast(Table, ServiceJob.__table__)
ONE_TIME_SECRETS = cast(Table, OneTimeSecret.__table__)
RATE_LIMITS = cast(Table, RateLimit.__table__)
