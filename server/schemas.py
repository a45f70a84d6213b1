"""HTTP input and output schemas (separate from the stored schema). Binary values are base64 strings: decoded
by ``Base64Bytes`` on the way in, encoded by ``b64text`` on the way out. Domain values are the enums of
server.domain."""

from __future__ import annotations

import base64
import binascii
from functools import partial
from typing import Annotated, Optional

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from gm.challenge import ChallengePurpose
from server.domain import AccountStatus, AccountType, RevocationReason, SessionKind
from server.validation import (
    LOGIN_NAME_MAX,
    check_applicant_name,
    check_email,
    check_login_username,
    check_username,
    pydantic_check,
)


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

# Typed names and addresses (server.validation): a refusal is a 400 with the check's own code and message.
_login_name = partial(check_applicant_name, max_length=LOGIN_NAME_MAX)
ApplicantName = Annotated[
    str, Field(min_length=1, max_length=200), AfterValidator(pydantic_check(check_applicant_name))
]
LoginApplicantName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(pydantic_check(_login_name))]
Username = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(pydantic_check(check_username))]
LoginUsername = Annotated[
    str, Field(min_length=1, max_length=100), AfterValidator(pydantic_check(check_login_username))
]
Email = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(pydantic_check(check_email))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(Strict):
    username: Username
    applicant_name: ApplicantName
    account_type: AccountType
    id_number: str = Field(min_length=15, max_length=32)
    email: Email


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
    username: LoginUsername
    applicant_name: LoginApplicantName
    captcha_id: str = Field(min_length=1, max_length=64)
    captcha_answer: str = Field(min_length=1, max_length=16)


class ChallengeIn(Strict):
    """What the nonce is for: it verifies only a challenge of this purpose (default: the tray's login)."""

    purpose: ChallengePurpose = ChallengePurpose.TRAY_LOGIN


class ChallengeOut(BaseModel):
    """The client signs the DER of ``LoginChallenge(purpose, origin, nonce)`` (gm.challenge), with the origin of
    the service URL it is configured with: never raw bytes the service chose."""

    nonce_id: str
    nonce: str  # base64 of exactly 32 bytes
    expires_in: int
    purpose: ChallengePurpose = ChallengePurpose.TRAY_LOGIN


class CertificateLoginIn(Strict):
    nonce_id: str = Field(min_length=1, max_length=64)
    certificate: CertificateBytes
    signature: SignatureBytes
    # The origin the client signed for (diagnostics only: the service verifies with its own configured origin,
    # and a mismatch is explained instead of refused as a bad signature).
    origin: Optional[str] = Field(default=None, min_length=1, max_length=255)


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
    issuance_authorized: bool = False  # 证书签发 / 证书换发 opened by the issuance code or password


class IssuanceSecretIn(Strict):
    """The issuance code (签发码, as mailed: separators and case do not matter) or the account password."""

    secret: str = Field(min_length=1, max_length=64)


class IssuanceCodeSentOut(BaseModel):
    email: str  # masked
    expires_in: int


class IssueIn(Strict):
    csr: CsrBytes
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
    certificate: CertificateBytes


class UnlockRequestOut(BaseModel):
    unlock_id: str
    email: str
    holder: str
    expires_in: int
    attempts: int
    mailed: bool = True  # False: the code mailed a few minutes ago serves this request (no new mail)


class UnlockCompleteIn(Strict):
    unlock_id: str = Field(min_length=1, max_length=64)
    certificate: CertificateBytes
    code: str = Field(min_length=1, max_length=16)


class UnlockCompleteOut(BaseModel):
    admin_credential: str


class AdminCredentialIn(Strict):
    admin_credential: str = Field(min_length=1, max_length=256)


class EmailIn(Strict):
    email: Email


class PasswordIn(Strict):
    password: str = Field(min_length=8, max_length=64)


class NameChangeIn(Strict):
    new_name: ApplicantName


class ErrorOut(BaseModel):
    error: str
    message: str


class EarlierKeyOut(BaseModel):
    encryption_certificate: str
    enveloped_key: str  # GM/T 0009 SM2EnvelopedKey for the signing key that logged in


class EarlierKeysOut(BaseModel):
    keys: list[EarlierKeyOut]
