"""证书解锁: a one-time code mailed to the registered address releases the device's escrowed admin credential
(with which the device sets a new PIN); and the escrow of a rotated admin credential."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Optional

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
        """Step 1: mail a one-time unlock code for the container of ``certificate`` (no login: the PIN is lost)."""
        with self.db.session() as session:
            rate_limit(session, f"unlock-client:{client}", 10, 3600)
            row = self.register.ours(session, certificate)
            rate_limit(session, f"unlock-serial:{row.pair_serial}", 3, 3600)
            cert = self.register.check_usable(session, row)
            if self.register.admin_credential(session, row.pair_serial) is None:
                raise conflict(
                    "no_admin_credential", "该证书签发时未托管解锁凭据，无法在线解锁；请联系证书颁发机构或重新签发证书"
                )
            account = session.get(models.Account, row.account_id)
            assert account is not None
            code = "".join(secrets.choice("0123456789") for _ in range(UNLOCK_CODE_DIGITS))
            ident = new_one_time(
                session,
                OneTimeKind.UNLOCK,
                secret_hash(self._pepper, code),
                self.config.unlock_code_ttl_s,
                attempts=self.config.unlock_code_attempts,
                subject=row.pair_serial,
            )
            holder = f"{cert.common_name or cert.subject_text}（{row.usage.label}）"
            audit(session, "unlock_code_sent", account.id, row.pair_serial, client=client)
            ttl, attempts = self.config.unlock_code_ttl_s, self.config.unlock_code_attempts
            notice = mail.unlock_mail(account.applicant_name, holder, code, ttl // 60, attempts)
            self.outbox.post(session, account.email, *notice)
            return UnlockRequested(ident, mask_email(account.email), holder, ttl, attempts)

    def complete(self, unlock_id: str, certificate: bytes, code: str, client: Optional[str] = None) -> str:
        """Step 2: the container's escrowed admin credential, for a valid unlock code; nothing else."""
        with self.db.session() as session:
            rate_limit(session, f"unlock-code-client:{client}", 30, 600)
            row = self.register.ours(session, certificate)
            request = lookup_one_time(session, unlock_id, OneTimeKind.UNLOCK)
            if request is None or request.subject != row.pair_serial or request.used:
                raise _code_invalid()
            if aware(request.expires_at) <= utcnow():
                request.used = True
                raise bad_request("unlock_code_expired", "解锁码已过期，请重新申请解锁码")
            if request.attempts_left <= 0:
                raise _code_exhausted()
            if not hmac.compare_digest(request.secret_hash, secret_hash(self._pepper, code.strip())):
                request.attempts_left -= 1
                audit(session, "unlock_code_wrong", row.account_id, row.pair_serial, client=client)
                left = request.attempts_left
                if left <= 0:
                    request.used = True
                    raise _code_exhausted()
                raise bad_request("unlock_code_wrong", f"解锁码错误，还可以尝试{left}次")
            request.used = True
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
