"""Domain values of the issuing service: the enums shared by the stored schema (server.models), the use cases
and the HTTP schemas (server.schemas), and the views that more than one use case returns.

Each enum's values are the strings stored in the database and sent over HTTP: never change one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Optional


class AccountType(StrEnum):
    NATURAL = "natural"
    LEGAL = "legal"
    AGENCY = "agency"

    @property
    def label(self) -> str:
        """The guide's name of the applicant type (also the OU of the applicant's certificates)."""
        return _ACCOUNT_TYPE_LABELS[self]


_ACCOUNT_TYPE_LABELS = {AccountType.NATURAL: "自然人", AccountType.LEGAL: "法人", AccountType.AGENCY: "代理机构"}


class AccountStatus(StrEnum):
    PENDING = "pending"  # registered, waiting for an operator
    APPROVED = "approved"
    DISABLED = "disabled"


class SessionKind(StrEnum):
    """How a session was opened: 账号登录 or 证书登录."""

    ACCOUNT = "account"
    CERTIFICATE = "certificate"


class CertificateUsage(StrEnum):
    """The two certificates of a pair (the Chinese dual-certificate system)."""

    SIGN = "sign"
    ENCRYPT = "encrypt"

    @property
    def label(self) -> str:
        return "签名证书" if self is CertificateUsage.SIGN else "加密证书"


class CertStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"


class RevocationReason(StrEnum):
    """The CRL reason codes the service uses (RFC 5280 CRLReason names, as asn1crypto spells them)."""

    CESSATION_OF_OPERATION = "cessation_of_operation"  # 证书废除 by the holder, the default
    KEY_COMPROMISE = "key_compromise"
    AFFILIATION_CHANGED = "affiliation_changed"
    SUPERSEDED = "superseded"  # replaced by 证书更新 or 证书换发


class OneTimeKind(StrEnum):
    CAPTCHA = "captcha"
    NONCE = "nonce"  # of certificate login
    UNLOCK = "unlock"  # code of 证书解锁
    ISSUANCE = "issuance"  # mailed code that, with an account login, opens 证书签发 / 证书换发


class CaRole(StrEnum):
    ROOT = "root"
    ISSUING = "issuing"


class MailStatus(StrEnum):
    """A mail of the outbox (server.mail, server.delivery)."""

    PENDING = "pending"  # to send (again), from its next attempt on
    SENT = "sent"
    FAILED = "failed"  # every attempt failed: given up, logged


@dataclass(frozen=True)
class AccountView:
    """An account as its holder may see it: the email is masked."""

    username: str
    applicant_name: str
    account_type: AccountType
    account_type_label: str
    email: str
    status: AccountStatus
    may_issue: bool
    exchange_required: bool
    name_change_approved: bool
    pending_name: Optional[str]


@dataclass(frozen=True)
class CertificateView:
    """The certificate a session logged in with."""

    serial: str
    subject: str
    issuer: str
    not_after: str  # ISO 8601
    days_left: int
    renewal_allowed: bool
