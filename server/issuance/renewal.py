"""证书换发 (a pair from the current issuing CA for an account the operator flagged) and 证书更新 (renewal near
expiry, or an approved company-name change): a new pair that supersedes the old one in one transaction."""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

from sqlalchemy import update
from sqlalchemy.orm import Session

from gm.x509 import Certificate
from server import models
from server.certificates import CertificateRegister, certificate_revoked
from server.config import ServerConfig
from server.db import Database
from server.errors import conflict
from server.issuance.codes import issuance_secret_required, spend_grants
from server.issuance.holders import Holder, authorize, claim_exchange, exchange_not_required, issuance_secret_refusal
from server.issuance.pairs import IssueRequest, IssueResult, PairMaker, notify_issued, read_csr
from server.mail import Outbox
from server.revocation import Revocation
from server.security import audit
from server.sessions import CertificateLogin


class Renewal:
    def __init__(
        self,
        db: Database,
        config: ServerConfig,
        pairs: PairMaker,
        register: CertificateRegister,
        revocation: Revocation,
        outbox: Outbox,
    ) -> None:
        self.db = db
        self.config = config
        self.pairs = pairs
        self.register = register
        self.revocation = revocation
        self.outbox = outbox

    def exchange(
        self,
        token: str,
        csr_der: bytes,
        admin_credential: Optional[str],
        client: Optional[str] = None,
        admin_credential_of: Optional[str] = None,
    ) -> IssueResult:
        """证书换发: every valid pair of the account is superseded by the new one."""
        request = IssueRequest(token, csr_der, admin_credential, client, admin_credential_of)
        with self.db.session() as session:
            found = authorize(session, token)
            holder = found.holder
            sign_public = read_csr(csr_der)  # proof of possession
            resent = self.pairs.resend(session, holder, sign_public, request)
            if resent is not None:
                return resent
            if not holder.exchange_required:
                raise exchange_not_required()
            refusal = issuance_secret_refusal(found)  # an account login needs the holder's secret too
            if refusal is not None:
                raise refusal
            old_pairs = self.register.valid_pairs(session, holder.id)
            result = self.pairs.issue(session, holder, sign_public, self.pairs.escrow_secret(session, holder, request))
            if not claim_exchange(session, holder.id):
                return self.pairs.came_second(session, holder, sign_public, request, exchange_not_required())
            if found.issuance_grant is not None and not spend_grants(
                session, [found.issuance_grant], [found.token_hash]
            ):
                return self.pairs.came_second(session, holder, sign_public, request, issuance_secret_required())
            for pair in old_pairs:
                self.revocation.supersede(session, pair)
            audit(session, "certificate_exchanged", holder.id, result.sign_serial, client=client, replaced=old_pairs)
            notify_issued(self.outbox, session, holder, result)
        return result

    def update(
        self,
        login: CertificateLogin,
        csr_der: bytes,
        admin_credential: Optional[str],
        client: Optional[str] = None,
        admin_credential_of: Optional[str] = None,
    ) -> IssueResult:
        """证书更新 of the pair the session logged in with: renewal (from N days before expiry) or the company
        name an operator approved."""
        request = IssueRequest(login.token, csr_der, admin_credential, client, admin_credential_of)
        with self.db.session() as session:
            holder = authorize(session, login.token).holder
            row = self.register.of_session(session, login.certificate_serial, lock=True)
            sign_public = read_csr(csr_der)  # proof of possession
            resent = self.pairs.resend(session, holder, sign_public, request)
            if resent is not None:
                return resent
            new_name = holder.pending_name if holder.name_change_approved else None
            self._check_renewal_window(self.register.check_usable(session, row), new_name)
            escrow = self.pairs.escrow_secret(session, holder, request)
            result = self.pairs.issue(session, holder, sign_public, escrow, name=new_name)
            if not self.revocation.supersede(session, row.pair_serial):  # a concurrent 证书更新 committed first
                return self.pairs.came_second(session, holder, sign_public, request, certificate_revoked())
            if new_name is not None:
                holder = self._rename(session, holder, new_name)  # the notice uses the new name
            audit(
                session,
                "certificate_updated",
                holder.id,
                result.sign_serial,
                client=client,
                replaced=row.pair_serial,
                name_change=new_name is not None,
            )
            notify_issued(self.outbox, session, holder, result)
        return result

    def _check_renewal_window(self, cert: Certificate, new_name: Optional[str]) -> None:
        days = cert.days_left()
        if new_name is None and days > self.config.renewal_window_days:
            raise conflict(
                "renewal_too_early",
                f"证书还有{days}天到期，到期前{self.config.renewal_window_days}天内才能办理证书更新",
            )

    @staticmethod
    def _rename(session: Session, holder: Holder, new_name: str) -> Holder:
        session.connection().execute(
            update(models.ACCOUNTS)
            .where(models.ACCOUNTS.c.id == holder.id)
            .values(applicant_name=new_name, pending_name=None, name_change_approved=False)
        )
        return replace(holder, applicant_name=new_name)
