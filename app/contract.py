"""The issuing service's answers as the client reads them: parsed once, from JSON into dataclasses.

The service's OpenAPI schema is the only contract between app and server (the app never imports the
server). Each ``parse`` takes the decoded JSON of one answer and returns a frozen dataclass; fields the
client does not use are ignored, so the service may add fields without breaking older clients.
"""

from __future__ import annotations

import base64
import enum
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from gm.challenge import decode_nonce
from gm.envelope import EnvelopedKey
from gm.x509 import Certificate


def b64encode(data: bytes) -> str:
    """Bytes as the service's JSON carries them (standard base64)."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


class SessionKind(str, enum.Enum):
    ACCOUNT = "account"  # 账号登录: 证书签发 / 证书换发
    CERTIFICATE = "certificate"  # 证书登录: 证书更新 / 证书废除


class CertificateUsage(str, enum.Enum):
    SIGN = "sign"  # 签名证书
    ENCRYPT = "encrypt"  # 加密证书


class AccountType(str, enum.Enum):
    NATURAL = "natural"  # 自然人
    LEGAL = "legal"  # 法人
    AGENCY = "agency"  # 代理机构
    OTHER = "other"  # a type this client does not know yet


class RevocationReason(str, enum.Enum):
    CESSATION_OF_OPERATION = "cessation_of_operation"
    KEY_COMPROMISE = "key_compromise"
    AFFILIATION_CHANGED = "affiliation_changed"
    SUPERSEDED = "superseded"


def _account_type(value: object) -> AccountType:
    try:
        return AccountType(str(value))
    except ValueError:
        return AccountType.OTHER


@dataclass(frozen=True)
class Account:
    """AccountOut: who is logged in and what the account may do now."""

    username: str
    applicant_name: str
    account_type: AccountType
    email: str  # masked by the service
    status: str
    may_issue: bool
    exchange_required: bool
    name_change_approved: bool
    pending_name: Optional[str] = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Account:
        return cls(
            username=str(data["username"]),
            applicant_name=str(data["applicant_name"]),
            account_type=_account_type(data.get("account_type")),
            email=str(data.get("email", "")),
            status=str(data.get("status", "")),
            may_issue=bool(data.get("may_issue")),
            exchange_required=bool(data.get("exchange_required")),
            name_change_approved=bool(data.get("name_change_approved")),
            pending_name=data.get("pending_name") or None,
        )

    @property
    def may_receive_new(self) -> bool:
        """证书签发 is open: the account may receive a certificate and is not waiting for 证书换发."""
        return self.may_issue and not self.exchange_required


@dataclass(frozen=True)
class CertificateStatus:
    """CertificateView: the certificate a certificate session logged in with, as the service sees it."""

    serial: str  # hex, upper case
    subject: str
    issuer: str
    not_after: str  # ISO 8601
    days_left: int
    renewal_allowed: bool

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> CertificateStatus:
        return cls(
            serial=str(data["serial"]).upper(),
            subject=str(data.get("subject", "")),
            issuer=str(data.get("issuer", "")),
            not_after=str(data.get("not_after", "")),
            days_left=int(data.get("days_left", 0)),
            renewal_allowed=bool(data.get("renewal_allowed")),
        )


@dataclass(frozen=True)
class SessionInfo:
    """LoginOut and MeOut: the session's kind, its account and (certificate login) its certificate."""

    kind: SessionKind
    account: Account
    certificate: Optional[CertificateStatus] = None
    issuance_authorized: bool = False  # the issuance code (or password) opened 证书签发 / 证书换发 already

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> SessionInfo:
        certificate = data.get("certificate")
        kind = data.get("session") or (SessionKind.CERTIFICATE.value if certificate else SessionKind.ACCOUNT.value)
        return cls(
            kind=SessionKind(str(kind)),
            account=Account.parse(data["account"]),
            certificate=CertificateStatus.parse(certificate) if certificate else None,
            issuance_authorized=bool(data.get("issuance_authorized")),
        )

    @property
    def may_update(self) -> bool:
        """证书更新 is open: renewal window reached, or a company-name change was approved."""
        return self.kind is SessionKind.CERTIFICATE and (
            self.account.name_change_approved or (self.certificate is not None and self.certificate.renewal_allowed)
        )


@dataclass(frozen=True)
class IssuanceCodeSent:
    """IssuanceCodeSentOut: a new issuance code went to ``email`` (masked)."""

    email: str
    expires_in: int

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> IssuanceCodeSent:
        return cls(str(data.get("email", "")), int(data.get("expires_in", 0)))


@dataclass(frozen=True)
class Captcha:
    captcha_id: str
    image_png: bytes

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Captcha:
        return cls(str(data["captcha_id"]), b64decode(str(data["image_png"])))


@dataclass(frozen=True)
class Challenge:
    """ChallengeOut: a login nonce, exactly 32 bytes (checked here: anything else is never signed). The client
    signs ``gm.challenge.LoginChallenge(purpose, <its own service origin>, nonce)``, not the nonce."""

    nonce_id: str
    nonce: bytes

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Challenge:
        return cls(str(data["nonce_id"]), decode_nonce(data.get("nonce")))


@dataclass(frozen=True)
class IssuedPair:
    """IssueOut: signing certificate, encryption certificate, enveloped encryption key, CA chain."""

    sign: Certificate
    encryption: Certificate
    envelope: EnvelopedKey
    chain_pem: bytes
    admin_escrowed: bool = False  # the service holds the device's admin credential: 证书解锁 works online

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> IssuedPair:
        return cls(
            Certificate.load(b64decode(str(data["sign_certificate"]))),
            Certificate.load(b64decode(str(data["encryption_certificate"]))),
            EnvelopedKey.from_der(b64decode(str(data["enveloped_key"]))),
            str(data["ca_chain_pem"]).encode(),
            bool(data.get("admin_credential_escrowed")),
        )


@dataclass(frozen=True)
class EarlierKey:
    """EarlierKeyOut: an earlier escrowed encryption key, enveloped to the signing key that logged in."""

    encryption: Certificate
    envelope: EnvelopedKey

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> EarlierKey:
        return cls(
            Certificate.load(b64decode(str(data["encryption_certificate"]))),
            EnvelopedKey.from_der(b64decode(str(data["enveloped_key"]))),
        )


@dataclass(frozen=True)
class Revoked:
    serial: str
    crl_url: str

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Revoked:
        return cls(str(data["revoked"]), str(data.get("crl_url", "")))


@dataclass(frozen=True)
class UnlockTicket:
    """UnlockRequestOut: the unlock code went to ``email`` (masked) for ``holder``."""

    unlock_id: str
    email: str
    holder: str
    expires_in: int
    attempts: int

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> UnlockTicket:
        return cls(
            unlock_id=str(data["unlock_id"]),
            email=str(data.get("email", "")),
            holder=str(data.get("holder", "")),
            expires_in=int(data.get("expires_in", 0)),
            attempts=int(data.get("attempts", 0)),
        )
