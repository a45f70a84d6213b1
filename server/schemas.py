"""HTTP input and output schemas (separate from the stored schema). Binary values are base64 strings: decoded
by ``Base64Bytes`` on the way in, encoded by ``b64text`` on the way out. Domain values are the enums of
server.domain."""

from __future__ import annotations

import base64
import binascii
from functools import partial
from typing import Annotated, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from server.domain import AccountStatus, AccountType, RevocationReason, SessionKind


def b64text(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _b64decode(max_chars: int, value: object) -> bytes:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        raise ValueError("expected a base64 string")
    if len(value) > max_chars:  # checked before decoding: nothing larger is ever decoded
        raise ValueError(f"longer than {max_chars} characters")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not valid base64") from exc


def decoded(max_chars: int) -> BeforeValidator:
    """Base64 of at most ``max_chars`` characters, decoded."""
    return BeforeValidator(partial(_b64decode, max_chars))


def documented(max_chars: int) -> WithJsonSchema:
    """The same limit in the OpenAPI schema."""
    return WithJsonSchema({"type": "string", "format": "byte", "maxLength": max_chars})


# Every binary field has a maximum length (issue 13.5); the whole body is limited too (server.api.guards).
# Certificates and CSRs of this service are under 2 KB of DER; 16 K characters of base64 hold 12 KB.
LONG = 16 * 1024
Base64Bytes = Annotated[bytes, decoded(LONG), documented(LONG)]
CertificateBytes = Annotated[bytes, decoded(LONG), documented(LONG)]
CsrBytes = Annotated[bytes, decoded(LONG), documented(LONG)]
SignatureBytes = Annotated[bytes, decoded(256), documented(256)]  # a DER SM2Signature is at most 72 bytes


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
    certificate: CertificateBytes
    signature: SignatureBytes


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
    csr: CsrBytes
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
    certificate: CertificateBytes


class UnlockRequestOut(BaseModel):
    unlock_id: str
    email: str
    holder: str
    expires_in: int
    attempts: int


class UnlockCompleteIn(Strict):
    unlock_id: str = Field(min_length=1, max_length=64)
    certificate: CertificateBytes
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
