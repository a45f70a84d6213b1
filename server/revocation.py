"""Revocation: 证书废除 by the holder, and the pair revocations of 证书更新 and 证书换发; each published at once
in the CRL of the issuing-CA generation that signed the pair."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server import models
from server.accounts import lock_approved
from server.ca import CertificateAuthority
from server.certificates import CertificateRegister
from server.db import Database
from server.domain import CertStatus, RevocationReason
from server.errors import conflict, not_found
from server.security import audit, utcnow
from server.sessions import CertificateLogin, Sessions


@dataclass(frozen=True)
class Revoked:
    revoked: str  # the pair's serial (of its signing certificate)
    crl_url: str


def revoke_pair(session: Session, pair_serial: str, reason: RevocationReason) -> List[int]:
    """Revoke the pair's valid certificates and end the sessions opened with its signing certificate; the CA
    generations whose CRL changes (none: already revoked). Every revocation goes through here: 证书废除, the
    operator's, and the supersession of 证书更新 and 证书换发."""
    Sessions.end_certificate_sessions(session, pair_serial)  # the pair's serial is its signing certificate's
    revoked = session.execute(
        update(models.Certificate)
        .where(models.Certificate.pair_serial == pair_serial, models.Certificate.status == CertStatus.VALID)
        .values(status=CertStatus.REVOKED, revoked_at=utcnow(), revocation_reason=reason)
        .returning(models.Certificate.ca_generation),
        execution_options={"synchronize_session": "fetch"},  # loaded rows see it (CRL entries)
    )
    return sorted(set(revoked.scalars()))


class Revocation:
    def __init__(self, db: Database, ca: CertificateAuthority, register: CertificateRegister) -> None:
        self.db = db
        self.ca = ca
        self.register = register

    def revoke(
        self,
        login: CertificateLogin,
        reason: RevocationReason = RevocationReason.CESSATION_OF_OPERATION,
        client: Optional[str] = None,
    ) -> Revoked:
        """证书废除 of the pair the session logged in with: the CRL is re-signed, the certificate's sessions
        end, and the account may receive a new pair (a holder without a certificate is never stuck)."""
        with self.db.session() as session:
            account = lock_approved(session, login.account_id)
            row = self.register.of_session(session, login.certificate_serial)
            generations = revoke_pair(session, row.pair_serial, reason)
            if not generations:
                raise conflict("already_revoked", "该证书已经废除")
            self.publish(session, generations)
            account.may_issue = True
            audit(session, "certificate_revoked", account.id, row.pair_serial, client=client, reason=reason)
            return Revoked(row.pair_serial, self.ca.crl_url(generations[0]))

    def revoke_by_operator(
        self, serial: str, reason: RevocationReason = RevocationReason.CESSATION_OF_OPERATION
    ) -> Revoked:
        """The operator revokes the pair of ``serial`` (either certificate of it): the CRL is re-signed, the
        pair's sessions end, and the account may receive a new pair."""
        with self.db.session() as session:
            row = session.scalar(select(models.Certificate).where(models.Certificate.serial == serial.upper()))
            if row is None:
                raise not_found("certificate_unknown", f"没有序列号为 {serial} 的证书")
            generations = revoke_pair(session, row.pair_serial, reason)
            if not generations:
                raise conflict("already_revoked", "该证书已经废除")
            self.publish(session, generations)
            session.execute(update(models.Account).where(models.Account.id == row.account_id).values(may_issue=True))
            audit(session, "certificate_revoked_by_operator", row.account_id, row.pair_serial, reason=reason)
            return Revoked(row.pair_serial, self.ca.crl_url(generations[0]))

    def supersede(self, session: Session, pair_serial: str) -> List[int]:
        """Revoke a pair replaced by 证书更新 or 证书换发 and publish it; the CRL generations (none: a
        concurrent request revoked it first, and nothing was published)."""
        generations = revoke_pair(session, pair_serial, RevocationReason.SUPERSEDED)
        self.publish(session, generations)
        return generations

    def publish(self, session: Session, generations: Iterable[int]) -> None:
        """Re-sign the CRL of each issuing-CA generation."""
        for generation in generations:
            self.ca.refresh_crl(session, generation)
