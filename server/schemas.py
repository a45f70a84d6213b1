"""HTTP input and output schemas (separate from the stored schema). Binary values are base64 strings: decoded
by ``Base64Bytes`` on the way in, encoded by ``b64text`` on the way out. Domain values are the enums of
server.domain."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

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
    # A USB key whose admin PIN did not change: the serial (hex) of the account's earlier signing certificate on
    # the same key, whose escrowed admin credential the new pair keeps.
    admin_credential_of: Optional[str] = Field(default=None, min_length=1, max_length=64, pattern="^[0-9A-Fa-f]+$")

    @model_validator(mode="after")
    def _one_admin_credential(self) -> IssueIn:
        if self.admin_credential is not None and self.admin_credential_of is not None:
            raise ValueError("send admin_credential or admin_credential_of, not both")
        return self


class IssueOut(BaseModel):
    sign_certificate: str
    encryption_certificate: str
    enveloped_key: str
    ca_chain_pem: str
    admin_credential_escrowed: bool  # the pair has an escrowed admin credential: 证书解锁 can work online


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
