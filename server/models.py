"""Stored schema (SQLAlchemy 2). Migrations: server/migrations (Alembic). Secrets are stored sealed or hashed."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Optional, cast

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class AccountStatus(str, enum.Enum):
    PENDING = "pending"  # registered, waiting for an operator
    APPROVED = "approved"
    DISABLED = "disabled"


class CertStatus(str, enum.Enum):
    VALID = "valid"
    REVOKED = "revoked"


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    applicant_name: Mapped[str] = mapped_column(String(200))
    account_type: Mapped[str] = mapped_column(String(16))
    id_number: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.PENDING.value)
    may_issue: Mapped[bool] = mapped_column(Boolean, default=False)
    exchange_required: Mapped[bool] = mapped_column(Boolean, default=False)
    pending_name: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)
    name_change_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    approved_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True), nullable=True)


class CaKey(Base):
    """A CA certificate and its sealed private key. ``generation`` grows with each issuing-CA rotation."""

    __tablename__ = "ca_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # "root" or "issuing"
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
    usage: Mapped[str] = mapped_column(String(8))  # "sign" or "encrypt"
    ca_generation: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(Text)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(8), default=CertStatus.VALID.value)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True), nullable=True)
    revocation_reason: Mapped[Optional[str]] = mapped_column(String(32), nullable=True)
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
    kind: Mapped[str] = mapped_column(String(16))  # "captcha", "nonce", "unlock"
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
    kind: Mapped[str] = mapped_column(String(16))  # "account" or "certificate"
    certificate_serial: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RateLimit(Base):
    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    count: Mapped[int] = mapped_column(Integer, default=0)


class CrlState(Base):
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


# Table handles for the statements of the issuance hot path, which skip the ORM unit of work.
ACCOUNTS = cast(Table, Account.__table__)
API_SESSIONS = cast(Table, ApiSession.__table__)
CERTIFICATES = cast(Table, Certificate.__table__)
ESCROWED_KEYS = cast(Table, EscrowedKey.__table__)
ADMIN_CREDENTIALS = cast(Table, AdminCredential.__table__)
AUDIT_LOG = cast(Table, AuditEvent.__table__)
