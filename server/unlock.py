"""证书解锁: a one-time code mailed to the registered address releases the device's escrowed admin credential
(with which the device sets a new PIN); and the escrow of a rotated admin credential.

Anyone may ask for an unlock code (the certificate is public; the PIN is lost, so there is no login), so a
stranger must never be able to deny the holder their code (issue 13.6):

- requests are limited per client address and per (client, certificate), never per certificate alone;
- each request is a ticket (its ``unlock_id``) with its own attempts, so a stranger's wrong codes spend only
  the stranger's ticket;
- a certificate gets a new code by mail at most every ``unlock_code_resend_s`` seconds; a request within that
  time mails nothing and its ticket takes the code already sent; a new code never invalidates an earlier one
  (every live code of the certificate opens any of its tickets until it expires or one unlock succeeds).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import List, Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server import mail, models
from server.certificates import CertificateRegister
from server.config import ServerConfig
from server.db import Database
from server.domain import OneTimeKind
from server.errors import ServiceError, bad_request, conflict
from server.identity import mask_email
from server.mail import Outbox
from server.security import audit, aware, lookup_one_time, new_one_time, rate_limit, secret_hash, utcnow
from server.sessions import CertificateLogin

UNLOCK_CODE_DIGITS = 8


@dataclass(frozen=True)
class UnlockRequested:
    unlock_id: str
    email: str  # masked
    holder: str  # whose certificate, as the dialog shows it
    expires_in: int  # seconds
    attempts: int
    mailed: bool = True  # False: a code mailed a few minutes ago is still valid; no new mail was sent


NO_CODE = ""  # secret_hash of a ticket that was mailed no code of its own


def _code_invalid() -> ServiceError:
    return bad_request("unlock_code_invalid", "解锁码无效或已使用，请重新申请解锁码")


def _code_exhausted() -> ServiceError:
    return bad_request("unlock_code_exhausted", "解锁码错误次数过多已失效，请重新申请解锁码")


class Unlock:
    def __init__(
        self, db: Database, config: ServerConfig, register: CertificateRegister, outbox: Outbox, pepper: bytes
    ) -> None:
        self.db = db
        self.config = config
        self.register = register
        self.outbox = outbox
        self._pepper = pepper  # of the stored unlock codes

    def request(self, certificate: bytes, client: Optional[str] = None) -> UnlockRequested:
        """Step 1: a ticket for the container of ``certificate``, and (unless one went out within the resend time)
        a new one-time code mailed to the registered address (no login: the PIN is lost)."""
        with self.db.session() as session:
            rate_limit(session, f"unlock-client:{client}", 10, 3600)
            row = self.register.ours(session, certificate)
            rate_limit(session, f"unlock-pair:{client}:{row.pair_serial}", 5, 3600)
            cert = self.register.check_usable(session, row)
            if self.register.admin_credential(session, row.pair_serial) is None:
                raise conflict(
                    "no_admin_credential", "该证书签发时未托管解锁凭据，无法在线解锁；请联系证书颁发机构或重新签发证书"
                )
            account = session.get(models.Account, row.account_id)
            assert account is not None
            now, ttl, attempts = utcnow(), self.config.unlock_code_ttl_s, self.config.unlock_code_attempts
            codes = self._live_codes(session, row.pair_serial)
            recent = [
                c for c in codes if aware(c.created_at) > now - timedelta(seconds=self.config.unlock_code_resend_s)
            ]
            holder = f"{cert.common_name or cert.subject_text}（{row.usage.label}）"
            if recent:  # the code mailed a moment ago serves this request too: no new mail
                expires = max(aware(c.expires_at) for c in recent)
                ident = new_one_time(
                    session, OneTimeKind.UNLOCK, NO_CODE, int((expires - now).total_seconds()) + 1, attempts=attempts,
                    subject=row.pair_serial,
                )  # fmt: skip
                audit(session, "unlock_code_not_resent", account.id, row.pair_serial, client=client)
                left = int((expires - now).total_seconds())
                return UnlockRequested(ident, mask_email(account.email), holder, left, attempts, mailed=False)
            code = "".join(secrets.choice("0123456789") for _ in range(UNLOCK_CODE_DIGITS))
            ident = new_one_time(
                session, OneTimeKind.UNLOCK, secret_hash(self._pepper, code), ttl, attempts=attempts,
                subject=row.pair_serial,
            )  # fmt: skip
            audit(session, "unlock_code_sent", account.id, row.pair_serial, client=client)
            notice = mail.unlock_mail(account.applicant_name, holder, code, ttl // 60, attempts)
            self.outbox.post(session, account.email, *notice)
            return UnlockRequested(ident, mask_email(account.email), holder, ttl, attempts)

    @staticmethod
    def _live_codes(session: Session, pair_serial: str) -> List[models.OneTimeSecret]:
        """The codes mailed for the pair that are neither used nor expired (oldest first)."""
        rows = session.scalars(
            select(models.OneTimeSecret)
            .where(
                models.OneTimeSecret.kind == OneTimeKind.UNLOCK,
                models.OneTimeSecret.subject == pair_serial,
                models.OneTimeSecret.used.is_(False),
                models.OneTimeSecret.secret_hash != NO_CODE,
            )
            .order_by(models.OneTimeSecret.created_at)
        )
        now = utcnow()
        return [row for row in rows if aware(row.expires_at) > now]

    def complete(self, unlock_id: str, certificate: bytes, code: str, client: Optional[str] = None) -> str:
        """Step 2: the container's escrowed admin credential, for a live code of it; nothing else. A wrong code
        spends an attempt of this ticket only."""
        with self.db.session() as session:
            rate_limit(session, f"unlock-code-client:{client}", 30, 600)
            row = self.register.ours(session, certificate)
            ticket = lookup_one_time(session, unlock_id, OneTimeKind.UNLOCK)
            if ticket is None or ticket.subject != row.pair_serial or ticket.used:
                raise _code_invalid()
            if aware(ticket.expires_at) <= utcnow():
                ticket.used = True
                raise bad_request("unlock_code_expired", "解锁码已过期，请重新申请解锁码")
            if ticket.attempts_left <= 0:
                raise _code_exhausted()
            given = secret_hash(self._pepper, code.strip())
            codes = self._live_codes(session, row.pair_serial)
            if not any(hmac.compare_digest(c.secret_hash, given) for c in codes):
                ticket.attempts_left -= 1
                audit(session, "unlock_code_wrong", row.account_id, row.pair_serial, client=client)
                left = ticket.attempts_left
                if left <= 0:  # this ticket is spent; its code (if it carries one) stays good for other tickets
                    raise _code_exhausted()
                raise bad_request("unlock_code_wrong", f"解锁码错误，还可以尝试{left}次")
            session.execute(  # one unlock per code: every code and ticket of the pair is spent
                update(models.OneTimeSecret)
                .where(
                    models.OneTimeSecret.kind == OneTimeKind.UNLOCK,
                    models.OneTimeSecret.subject == row.pair_serial,
                )
                .values(used=True),
                execution_options={"synchronize_session": "fetch"},
            )
            stored = self.register.admin_credential(session, row.pair_serial)
            assert stored is not None
            audit(session, "unlock_released", row.account_id, row.pair_serial, client=client)
            return self.register.open_admin_credential(stored)

    def escrow_admin_credential(self, login: CertificateLogin, admin_credential: str) -> None:
        """After an unlock or a PIN reset the device may rotate its admin credential: escrow the new one."""
        with self.db.session() as session:
            row = self.register.of_session(session, login.certificate_serial)
            self.register.escrow_admin_credential(session, row.pair_serial, admin_credential)
            audit(session, "admin_credential_escrowed", login.account_id, row.pair_serial)
