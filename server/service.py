"""The issuing service's composition root: one database, sealer, mailer and CA, and the use cases built on them.

Every use case is HTTP-free: it takes plain values, returns typed results and raises ServiceError with a
Chinese message that says what to do next. The HTTP API (server.api) and the operator CLI (server.cli) call
them through this object:

- ``accounts``: registration, approval, flags, company-name changes (server.accounts)
- ``sessions`` and ``logins``: 账号登录, 证书登录, sessions (server.sessions, server.logins)
- ``issuance`` and ``renewal``: 证书签发 (batched), 证书换发, 证书更新 (server.issuance); ``issuance_codes``:
  the holder's secret that opens issuance to an account login (server.issuance.codes)
- ``revocation``: 证书废除 and CRLs (server.revocation); ``authority``: CA chain, CRLs, rotation
- ``unlock`` and ``recovery``: 证书解锁, email and password by certificate login (server.unlock, server.recovery)
- ``background``: mail delivery from the outbox and housekeeping (server.delivery, server.housekeeping), on a
  thread that ``start_background`` starts in a serving process; a command delivers its mail when it closes
- ``key_history``: the audit record of a backup, earlier escrowed encryption keys by certificate login
  (server.keyhistory)
"""

from __future__ import annotations

from server.accounts import Accounts
from server.authority import Authority
from server.background import Background
from server.ca import CertificateAuthority
from server.certificates import CertificateRegister
from server.config import ServerConfig
from server.db import Database
from server.delivery import MailDelivery
from server.housekeeping import Housekeeping
from server.issuance.codes import IssuanceCodes
from server.issuance.first import Issuance
from server.issuance.pairs import PairMaker
from server.issuance.renewal import Renewal
from server.keyhistory import KeyHistory
from server.logins import Logins
from server.mail import Mailer, Outbox
from server.recovery import Recovery
from server.revocation import Revocation
from server.sealing import Sealer
from server.sessions import Sessions
from server.unlock import Unlock


class IssuingService:
    def __init__(self, config: ServerConfig, db: Database, sealer: Sealer, mailer: Mailer) -> None:
        self.config = config
        self.db = db
        self.mailer = mailer
        ca = CertificateAuthority(config, sealer)
        register = CertificateRegister(config, ca, sealer)
        self.delivery = MailDelivery(db, sealer, mailer, config)
        self.housekeeping = Housekeeping(db, config, self.delivery.worker)
        self.background = Background(self.delivery, self.housekeeping, config.mail_poll_s)
        outbox = Outbox(db, sealer, on_commit=self.background.wake)
        pepper = sealer.derive("one-time-secrets")  # hashes captcha answers and unlock codes
        pairs = PairMaker(config, ca, sealer, register)

        self.authority = Authority(db, ca)
        self.sessions = Sessions(db, config)
        self.issuance_codes = IssuanceCodes(db, config, self.sessions, outbox, pepper)
        self.accounts = Accounts(db, outbox, self.issuance_codes)
        self.logins = Logins(db, config, self.sessions, register, pepper)
        self.issuance = Issuance(db, pairs, outbox)
        self.revocation = Revocation(db, ca, register)
        self.renewal = Renewal(db, config, pairs, register, self.revocation, outbox)
        self.unlock = Unlock(db, config, register, outbox, pepper)
        self.recovery = Recovery(db, outbox)
        self.key_history = KeyHistory(db, register, sealer)

    def start(self) -> None:
        """Migrate the database and set up the CA (on first start)."""
        self.db.migrate()
        self.authority.set_up()

    def start_background(self) -> None:
        """Deliver mail and keep house on a thread of this process (a serving worker)."""
        self.background.start()

    def close(self) -> None:
        """Answer the issuances under way, deliver the mail that is due, release database connections."""
        self.issuance.close()
        self.background.close()
        self.db.engine.dispose()
