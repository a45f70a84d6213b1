"""Dual-certificate pairs: the CA and KMC work of every issuance (签发, 换发, 更新) and its idempotence.

A pair is the signing certificate for the key of the client's CSR, an encryption certificate for a key the
KMC generates and escrows, and that key enveloped (GM/T 0009) for the signing key. A client whose answer was
lost asks again with the same key and receives the same pair, enveloped afresh.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from gm.envelope import envelope_key
from gm.errors import CertificateError, EncodingError, GMError, InvalidKey
from gm.sm2 import DEFAULT_SIGNER_ID, SM2PrivateKey, SM2PublicKey
from gm.sm3 import hmac_sm3
from gm.x509 import ENCRYPTION_KEY_USAGE, SIGNING_KEY_USAGE, Certificate, CertificationRequest, name_text
from server import mail, models
from server.ca import CertificateAuthority
from server.certificates import CertificateRegister
from server.config import ServerConfig
from server.domain import AccountType, CertificateUsage, CertStatus
from server.errors import ServiceError, bad_request
from server.issuance.holders import Holder
from server.mail import Outbox
from server.sealing import Sealer
from server.security import audit, utcnow

_INSERT_CERTIFICATE = insert(models.CERTIFICATES)  # run with both rows of a pair (executemany)
_INSERT_ESCROW = insert(models.ESCROWED_KEYS)
_INSERT_ADMIN = insert(models.ADMIN_CREDENTIALS)


@dataclass(frozen=True)
class IssueRequest:
    """A request for a pair: the session's token, the PKCS#10 CSR of the signing key, the device's admin
    credential to escrow (released later only for a mailed unlock code), the client's address."""

    token: str
    csr_der: bytes
    admin_credential: Optional[str]
    client: Optional[str]
    admin_credential_of: Optional[str] = None  # an earlier pair of the account on the same USB key (its escrow is kept)


@dataclass(frozen=True)
class IssueResult:
    sign_certificate: bytes  # DER
    encryption_certificate: bytes  # DER
    enveloped_key: bytes  # GM/T 0009 SM2EnvelopedKey for the signing public key
    ca_chain_pem: bytes
    sign_serial: str
    not_after: str  # YYYY-MM-DD
    admin_escrowed: bool = False  # the pair has an escrowed admin credential (证书解锁 works online)


@dataclass(frozen=True)
class NewPair:
    """A pair made and signed (all its gm work done), and the rows that store it."""

    result: IssueResult
    certificates: List[Dict[str, Any]]
    escrow: Dict[str, Any]
    admin: Optional[Dict[str, Any]]


def read_csr(csr_der: bytes) -> SM2PublicKey:
    """The signing public key of a CSR whose signature proves possession of the private key.

    A request signed with an empty SM2 signer ID (what OpenSSL 3.0 writes without ``-sigopt distid:…``) is
    told apart from other failures: the message names the cause and the fix."""
    try:
        request = CertificationRequest.load(csr_der)
    except (CertificateError, EncodingError, InvalidKey, GMError) as exc:
        raise bad_request("csr_invalid", "证书请求格式错误，无法读取，请重试；如反复失败请使用「环境修复」") from exc
    try:
        request.verify()
        return request.public_key
    except (CertificateError, EncodingError, InvalidKey, GMError) as exc:
        if _signed_with_empty_id(request):
            raise bad_request(
                "csr_invalid",
                f"证书请求的签名使用了空的SM2签名者ID，而不是标准的{DEFAULT_SIGNER_ID.decode()}"
                f"（OpenSSL 3.0 未指定时如此）；请加上 -sigopt distid:{DEFAULT_SIGNER_ID.decode()} 重新生成证书请求",
            ) from exc
        raise bad_request(
            "csr_invalid", "证书请求无效（签名验证失败或格式错误），请重试；如反复失败请使用「环境修复」"
        ) from exc


def _signed_with_empty_id(request: CertificationRequest) -> bool:
    try:
        request.verify(signer_id=b"")
    except GMError:
        return False
    return True


def subject_of(holder: Holder, id_key: bytes, name: Optional[str] = None) -> List[Tuple[str, str]]:
    """The subject in the usual order, most general first: C=CN, O=申请人名称 (法人 and 代理机构), OU=applicant
    type, CN=申请人名称, serialNumber=the holder's identifier (``subject_identifier``)."""
    name = name or holder.applicant_name
    subject = [("country_name", "CN")]
    if holder.account_type != AccountType.NATURAL:
        subject.append(("organization_name", name))
    subject += [
        ("organizational_unit_name", holder.account_type.label),
        ("common_name", name),
        ("serial_number", subject_identifier(holder, id_key)),
    ]
    return subject


def subject_identifier(holder: Holder, id_key: bytes) -> str:
    """serialNumber of the subject. A legal person or an agency: its 统一社会信用代码, which is public (the
    national enterprise credit register publishes it). A natural person: never the 居民身份证号码 (sensitive
    personal information; a certificate is shown to every relying party), but ``HMAC-SM3:`` and 128 bits of
    HMAC-SM3 of it under a key derived from the service's master key: the same person has the same identifier
    in every certificate, the service can tell whether a certificate belongs to a given number, and nobody
    without the key can find the number from it (an unkeyed hash of an 18-digit number with a known structure
    is searched through in minutes)."""
    if holder.account_type != AccountType.NATURAL:
        return holder.id_number
    return "HMAC-SM3:" + hmac_sm3(id_key, holder.id_number.strip().upper().encode()).hex()[:32].upper()


def notify_issued(outbox: Outbox, session: Session, holder: Holder, result: IssueResult) -> None:
    outbox.post(session, holder.email, *mail.issued_mail(holder.applicant_name, result.sign_serial, result.not_after))


class PairMaker:
    def __init__(
        self, config: ServerConfig, ca: CertificateAuthority, sealer: Sealer, register: CertificateRegister
    ) -> None:
        self.config = config
        self.ca = ca
        self.sealer = sealer
        self.register = register
        self._id_key = sealer.derive("certificate-subject-identifier")  # server.issuance.pairs.subject_identifier

    # -- new pairs -------------------------------------------------------------------------
    def make(
        self,
        session: Session,
        holder: Holder,
        sign_public: SM2PublicKey,
        admin_credential: Optional[str],
        name: Optional[str] = None,
    ) -> NewPair:
        """Sign both certificates, generate and seal the encryption key, envelope it; nothing stored yet."""
        subject = subject_of(holder, self._id_key, name)
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
                "account_id": holder.id,
                "pair_serial": pair,
                "usage": usage,
                "ca_generation": issued.generation,
                "subject": subject_text,
                "not_before": issued.not_before,
                "not_after": issued.not_after,
                "status": CertStatus.VALID,
                "der": issued.certificate.to_der(),
                "created_at": now,
            }
            for issued, usage in ((sign, CertificateUsage.SIGN), (enc, CertificateUsage.ENCRYPT))
        ]
        sealed_key = self.sealer.seal(encryption_key.to_raw(), f"escrow/{enc_serial}")
        escrow = {"certificate_serial": enc_serial, "sealed_key": sealed_key, "created_at": now}
        admin: Optional[Dict[str, Any]] = None
        if admin_credential:  # a new pair: nothing escrowed for it yet
            sealed = self.register.seal_admin_credential(pair, admin_credential)
            admin = {"pair_serial": pair, "sealed_secret": sealed, "created_at": now}
        result = IssueResult(
            sign.certificate.to_der(),
            enc.certificate.to_der(),
            envelope_key(encryption_key, sign_public).to_der(),
            self.ca.chain_pem(session, fresh=False),
            pair,
            f"{sign.not_after:%Y-%m-%d}",
            admin_escrowed=admin is not None,
        )
        return NewPair(result, rows, escrow, admin)

    @staticmethod
    def store(session: Session, pairs: List[NewPair]) -> None:
        """Both certificates, the escrowed key and the admin credential of every pair: three statements."""
        connection = session.connection()
        connection.execute(_INSERT_CERTIFICATE, [row for pair in pairs for row in pair.certificates])
        connection.execute(_INSERT_ESCROW, [pair.escrow for pair in pairs])
        admins = [pair.admin for pair in pairs if pair.admin is not None]
        if admins:
            connection.execute(_INSERT_ADMIN, admins)

    def issue(
        self,
        session: Session,
        holder: Holder,
        sign_public: SM2PublicKey,
        admin_credential: Optional[str],
        name: Optional[str] = None,
    ) -> IssueResult:
        """Make one pair and store it."""
        pair = self.make(session, holder, sign_public, admin_credential, name)
        self.store(session, [pair])
        return pair.result

    def escrow_secret(self, session: Session, holder: Holder, request: IssueRequest) -> Optional[str]:
        """The admin credential to escrow with a new pair: the one the request sends, or the one escrowed with the
        holder's earlier pair it names (a USB key whose admin PIN did not change); None when there is neither."""
        if request.admin_credential:
            return request.admin_credential
        if not request.admin_credential_of:
            return None
        earlier = session.scalar(
            select(models.Certificate).where(
                models.Certificate.serial == request.admin_credential_of.upper(),
                models.Certificate.account_id == holder.id,
                models.Certificate.usage == CertificateUsage.SIGN,
            )
        )
        stored = self.register.admin_credential(session, earlier.pair_serial) if earlier is not None else None
        return self.register.open_admin_credential(stored) if stored is not None else None

    # -- the same pair again ---------------------------------------------------------------
    def issued_before(self, session: Session, holder: Holder, sign_public: SM2PublicKey) -> Optional[IssueResult]:
        """The valid pair already issued to this account for this signing key, if any."""
        rows = session.scalars(
            select(models.Certificate).where(
                models.Certificate.account_id == holder.id,
                models.Certificate.usage == CertificateUsage.SIGN,
                models.Certificate.status == CertStatus.VALID,
            )
        )
        for row in rows:
            sign_cert = Certificate.from_der(row.der)
            if sign_cert.public_key != sign_public:
                continue
            enc_row = session.scalar(
                select(models.Certificate).where(
                    models.Certificate.pair_serial == row.pair_serial,
                    models.Certificate.usage == CertificateUsage.ENCRYPT,
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
            return IssueResult(
                row.der,
                enc_row.der,
                envelope_key(encryption_key, sign_public).to_der(),
                self.ca.chain_pem(session, fresh=False),
                row.serial,
                f"{sign_cert.not_after:%Y-%m-%d}",
                admin_escrowed=self.register.admin_credential(session, row.pair_serial) is not None,
            )
        return None

    def resend(
        self, session: Session, holder: Holder, sign_public: SM2PublicKey, request: IssueRequest
    ) -> Optional[IssueResult]:
        """The pair issued before for this key (a retry), with the admin credential the client now sends."""
        existing = self.issued_before(session, holder, sign_public)
        if existing is not None:
            secret = self.escrow_secret(session, holder, request)
            if secret:  # a resumed client rotated its admin credential (or names the pair whose one it keeps)
                self.register.escrow_admin_credential(session, existing.sign_serial, secret)
                existing = replace(existing, admin_escrowed=True)
            audit(session, "certificate_resent", holder.id, existing.sign_serial, client=request.client)
        return existing

    def resend_or_refuse(
        self, session: Session, holder: Holder, sign_public: SM2PublicKey, request: IssueRequest, refusal: ServiceError
    ) -> IssueResult:
        """A request the rules refuse is answered with its earlier pair if it is a retry."""
        resent = self.resend(session, holder, sign_public, request)
        if resent is None:
            raise refusal
        return resent

    def came_second(
        self, session: Session, holder: Holder, sign_public: SM2PublicKey, request: IssueRequest, refusal: ServiceError
    ) -> IssueResult:
        """A concurrent request for this account committed first: drop this pair (never sent, so nothing is
        lost) and answer as the later of two sequential requests would be answered."""
        session.rollback()
        return self.resend_or_refuse(session, holder, sign_public, request, refusal)
