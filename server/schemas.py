"""HTTP input and output schemas (separate from the stored schema). Binary values are base64 strings: decoded
by ``Base64Bytes`` on the way in, encoded by ``b64text`` on the way out. Domain values are the enums of
server.domain."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from server.domain import AccountStatus, AccountType, RevocationReason, SessionKind


def b64text(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _b64decode(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not valid base64") from exc


Base64Bytes = Annotated[bytes, BeforeValidator(_b64decode), Field(json_schema_extra={"format": "byte"})]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(Strict):
    username: str = Field(min_length=3, max_length=64)
    applicant_name: str = Field(min_length=1, max_length=200)
    account_type: AccountType
    id_number: str = Field(min_length=15, max_length=32)
    email: str = Field(min_length=3, max_length=254)


class AccountOut(BaseModel):
    username: str
    applicant_name: str
    account_type: AccountType
    account_type_label: str
    email: str
    status: AccountStatus
    may_issue: bool
    exchange_required: bool
    name_change_approved: bool
    pending_name: Optional[str] = None


class CaptchaOut(BaseModel):
    captcha_id: str
    image_png: str
    expires_in: int


class AccountLoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    applicant_name: str = Field(min_length=1, max_length=200)
    captcha_id: str = Field(min_length=1, max_length=64)
    captcha_answer: str = Field(min_length=1, max_length=16)


class ChallengeOut(BaseModel):
    nonce_id: str
    nonce: str
    expires_in: int


class CertificateLoginIn(Strict):
    nonce_id: str = Field(min_length=1, max_length=64)
    certificate: Base64Bytes
    signature: Base64Bytes


class CertificateView(BaseModel):
    serial: str
    subject: str
    issuer: str
    not_after: str
    days_left: int
    renewal_allowed: bool


class LoginOut(BaseModel):
    token: str
    expires_in: int
    account: AccountOut
    certificate: Optional[CertificateView] = None


class MeOut(BaseModel):
    session: SessionKind
    account: AccountOut
    certificate: Optional[CertificateView] = None


class IssueIn(Strict):
    csr: Base64Bytes
    admin_credential: Optional[str] = Field(default=None, min_length=1, max_length=256)


class IssueOut(BaseModel):
    sign_certificate: str
    encryption_certificate: str
    enveloped_key: str
    ca_chain_pem: str


class RevokeIn(Strict):
    reason: RevocationReason = RevocationReason.CESSATION_OF_OPERATION


class RevokeOut(BaseModel):
    revoked: str
    crl_url: str


class UnlockRequestIn(Strict):
    certificate: Base64Bytes


class UnlockRequestOut(BaseModel):
    unlock_id: str
    email: str
    holder: str
    expires_in: int
    attempts: int


class UnlockCompleteIn(Strict):
    unlock_id: str = Field(min_length=1, max_length=64)
    certificate: Base64Bytes
    code: str = Field(min_length=1, max_length=16)


class UnlockCompleteOut(BaseModel):
    admin_credential: str


class AdminCredentialIn(Strict):
    admin_credential: str = Field(min_length=1, max_length=256)


class EmailIn(Strict):
    email: str = Field(min_length=3, max_length=254)


class PasswordIn(Strict):
    password: str = Field(min_length=8, max_length=64)


class NameChangeIn(Strict):
    new_name: str = Field(min_length=1, max_length=200)


class ErrorOut(BaseModel):
    error: str
    message: str


class EarlierKeyOut(BaseModel):
    encryption_certificate: str
    enveloped_key: str  # GM/T 0009 SM2EnvelopedKey for the signing key that logged in


class EarlierKeysOut(BaseModel):
    keys: list[EarlierKeyOut]
