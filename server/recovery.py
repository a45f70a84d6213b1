"""Recovery without traps: a holder of a valid certificate changes the registered email or sets the password by
certificate login (no email-login-password loop), and the account password is checked here."""

from __future__ import annotations

from typing import Optional

from server import mail
from server.accounts import account_view, checked, find_account, lock_approved
from server.db import Database
from server.domain import AccountView
from server.errors import bad_request
from server.mail import Outbox
from server.security import audit, check_password, password_hash
from server.sessions import CertificateLogin
from server.validation import check_email

PROOF_HINT = "（有效证书即可证明身份）"  # why a certificate login is asked for: it proves who the holder is


class Recovery:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    def change_email(self, login: CertificateLogin, new_email: str, client: Optional[str] = None) -> AccountView:
        """Both the old and the new address are told."""
        new_email = checked(check_email, new_email)
        with self.db.session() as session:
            account = lock_approved(session, login.account_id)
            old = account.email
            account.email = new_email.strip()
            audit(session, "email_changed", account.id, login.certificate_serial, client=client)
            notice = mail.email_changed_mail(account.applicant_name, new_email)
            for address in {old, new_email}:
                self.outbox.post(session, address, *notice)
            return account_view(account)

    def set_password(self, login: CertificateLogin, password: str, client: Optional[str] = None) -> None:
        if not (8 <= len(password) <= 64):
            raise bad_request("invalid_password", "密码应为8-64个字符")
        with self.db.session() as session:
            account = lock_approved(session, login.account_id)
            account.password_hash = password_hash(password)
            audit(session, "password_reset", account.id, login.certificate_serial, client=client)

    def verify_password(self, username: str, password: str) -> bool:
        with self.db.session() as session:
            account = find_account(session, username)
            return bool(account.password_hash) and check_password(password, account.password_hash or "")
