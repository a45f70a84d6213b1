"""The register of issued certificates and escrowed admin credentials: the lookups and checks that logins,
issuance, revocation and unlock share."""

from __future__ import annotations

from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from gm.errors import CertificateError, EncodingError, GMError
from gm.x509 import Certificate, verify_chain
from server import models
from server.ca import CertificateAuthority
from server.config import ServerConfig
from server.domain import CertificateView, CertStatus
from server.errors import ServiceError, bad_request, forbidden, not_found
from server.sealing import Sealer
from server.security import utcnow


def certificate_revoked() -> ServiceError:
    return forbidden("certificate_revoked", "该证书已废除，无法使用；请使用账号登录后重新签发证书")


class CertificateRegister:
    def __init__(self, config: ServerConfig, ca: CertificateAuthority, sealer: Sealer) -> None:
        self.config = config
        self.ca = ca
        self.sealer = sealer

    # -- certificates ----------------------------------------------------------------------
    @staticmethod
    def ours(session: Session, der: bytes) -> models.Certificate:
        """The stored row of a certificate a client presents; refuses one we did not issue."""
        try:
            cert = Certificate.from_der(der)
        except (EncodingError, GMError) as exc:
            raise bad_request("certificate_invalid", "无法读取该证书，请重新选择") from exc
        row = session.scalar(select(models.Certificate).where(models.Certificate.serial == f"{cert.serial_number:X}"))
        if row is None or row.der != cert.to_der():
            raise not_found("certificate_unknown", "该证书不是本系统签发的证书，请选择证书助手签发的证书")
        return row

    @staticmethod
    def of_session(session: Session, serial: str, lock: bool = False) -> models.Certificate:
        """The signing certificate a certificate session logged in with (locked for update when asked)."""
        query = select(models.Certificate).where(models.Certificate.serial == serial)
        row = session.scalar(query.with_for_update() if lock else query)
        assert row is not None  # sessions are opened only for stored certificates
        return row

    @staticmethod
    def valid_pairs(session: Session, account_id: int) -> List[str]:
        """The pair serials of an account's valid certificates, in serial order."""
        query = select(models.Certificate.pair_serial).where(
            models.Certificate.account_id == account_id, models.Certificate.status == CertStatus.VALID
        )
        return sorted(set(session.scalars(query)))

    def check_usable(self, session: Session, row: models.Certificate) -> Certificate:
        """Not revoked, within its validity, and chained to our root."""
        if row.status == CertStatus.REVOKED:
            raise certificate_revoked()
        cert = Certificate.from_der(row.der)
        issuing = self.ca.issuing_certificates(session)
        try:
            verify_chain(cert, [self.ca.root(session)], list(issuing.values()), at=utcnow())
        except CertificateError as exc:
            if exc.reason == "expired":
                raise forbidden("certificate_expired", "该证书已过期；请使用账号登录后重新签发证书") from exc
            raise forbidden("certificate_invalid", f"证书校验失败（{exc.reason}）") from exc
        return cert

    def view(self, row: models.Certificate, cert: Certificate) -> CertificateView:
        days = cert.days_left()
        return CertificateView(
            serial=row.serial,
            subject=cert.subject_text,
            issuer=cert.issuer_text,
            not_after=cert.not_after.isoformat(),
            days_left=days,
            renewal_allowed=days <= self.config.renewal_window_days,
        )

    # -- escrowed admin credentials --------------------------------------------------------
    @staticmethod
    def admin_credential(session: Session, pair_serial: str) -> Optional[models.AdminCredential]:
        return session.scalar(select(models.AdminCredential).where(models.AdminCredential.pair_serial == pair_serial))

    def seal_admin_credential(self, pair_serial: str, admin_credential: str) -> bytes:
        return self.sealer.seal(admin_credential.encode(), f"admin/{pair_serial}")

    def escrow_admin_credential(self, session: Session, pair_serial: str, admin_credential: str) -> None:
        """Keep (or replace) the device's admin credential of a pair, sealed."""
        sealed = self.seal_admin_credential(pair_serial, admin_credential)
        stored = self.admin_credential(session, pair_serial)
        if stored is None:
            session.add(models.AdminCredential(pair_serial=pair_serial, sealed_secret=sealed, created_at=utcnow()))
        else:
            stored.sealed_secret = sealed

    def open_admin_credential(self, stored: models.AdminCredential) -> str:
        return self.sealer.open(stored.sealed_secret, f"admin/{stored.pair_serial}").decode()
