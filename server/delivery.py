"""Delivery of the mail outbox (server.mail): by any worker of any host, each mail once, retried with backoff.

A worker claims due mail in one atomic statement (``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
RETURNING``: PostgreSQL skips the rows another worker is claiming; SQLite runs the statement alone), sends it,
and records it sent (or failed) at once, only while the claim is still its own. A claim lasts ``mail_claim_s``:
when a worker dies (SIGKILL, a lost host) between its claim and the send, another worker delivers the mail
after that. So that a claim never runs out under a worker that is still sending, SMTP mail is claimed one at a
time and each SMTP step times out after an eighth of the claim (server.app); ``.eml`` files (which a repeated
delivery only rewrites) are claimed by the batch, and a batch stops at half its claim. A send that fails (SMTP
down) is retried with exponential backoff, up to MAX_ATTEMPTS (about two days), then the mail is marked failed
and logged (recipient only: a body may hold an unlock code).

What "exactly once" means here: a mail is never lost and never claimed by two workers at once; the one window
left is a worker killed after the SMTP server accepted a mail and before the row says so, in which case the
same message (same Message-ID) is sent again.
"""

from __future__ import annotations

import logging
import os
import secrets
import smtplib
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, List

from sqlalchemy import bindparam, case, or_, select, update

from server import models
from server.config import ServerConfig
from server.db import Database
from server.domain import MailStatus
from server.mail import Mailer, open_mail
from server.sealing import Sealer
from server.security import utcnow

log = logging.getLogger(__name__)

BATCH = 50  # mails claimed at once
MAX_ATTEMPTS = 40
BACKOFF_MAX_S = 3600.0

_MAIL = models.MAIL_OUTBOX
_NOW = bindparam("now", type_=_MAIL.c.next_attempt_at.type)
_CLAIMABLE = (
    _MAIL.c.status == MailStatus.PENDING.value,
    _MAIL.c.next_attempt_at <= _NOW,
    or_(_MAIL.c.claimed_until.is_(None), _MAIL.c.claimed_until < _NOW),
)
# The due rows are chosen once, in a materialized CTE: as ``id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)``
# PostgreSQL may run the subquery again for each row it scans, and with SKIP LOCKED each run finds other rows.
_DUE = (
    select(_MAIL.c.id)
    .where(*_CLAIMABLE)
    .order_by(_MAIL.c.next_attempt_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
    .cte("due")
    .prefix_with("MATERIALIZED", dialect="postgresql")
)
_CLAIM = (
    update(_MAIL)
    .where(_MAIL.c.id.in_(select(_DUE.c.id)), *_CLAIMABLE)
    .values(claimed_by=bindparam("worker"), claimed_until=bindparam("until", type_=_MAIL.c.claimed_until.type))
    .returning(_MAIL.c.id, _MAIL.c.recipient, _MAIL.c.sealed, _MAIL.c.attempts)
)
_MINE = (_MAIL.c.id == bindparam("mail_id"), _MAIL.c.claimed_by == bindparam("worker"))
_SENT = (
    update(_MAIL)
    .where(*_MINE)
    .values(status=MailStatus.SENT.value, sent_at=_NOW, claimed_by=None, claimed_until=None, last_error=None)
)
_FAILED = (
    update(_MAIL)
    .where(*_MINE)
    .values(
        attempts=_MAIL.c.attempts + 1,
        status=case((_MAIL.c.attempts + 1 >= MAX_ATTEMPTS, MailStatus.FAILED.value), else_=MailStatus.PENDING.value),
        next_attempt_at=bindparam("retry_at", type_=_MAIL.c.next_attempt_at.type),
        claimed_by=None,
        claimed_until=None,
        last_error=bindparam("error"),
    )
)


@dataclass(frozen=True)
class Claimed:
    id: str
    recipient: str
    sealed: bytes
    attempts: int  # before this one


def worker_name() -> str:
    """Host, process and a random part: unique among the workers of every host."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class MailDelivery:
    def __init__(self, db: Database, sealer: Sealer, transport: Mailer, config: ServerConfig) -> None:
        self.db = db
        self.sealer = sealer
        self.transport = transport
        self.config = config
        self.worker = worker_name()

    def backoff_s(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failed ones: doubling from the base, at most an hour."""
        return float(min(BACKOFF_MAX_S, self.config.mail_retry_base_s * 2 ** max(0, attempts - 1)))

    def claim(self, limit: int) -> List[Claimed]:
        now = utcnow()
        until = now + timedelta(seconds=self.config.mail_claim_s)
        with self.db.engine.begin() as connection:
            rows = connection.execute(_CLAIM, {"now": now, "until": until, "worker": self.worker, "limit": limit})
            return [Claimed(row.id, row.recipient, row.sealed, row.attempts) for row in rows]

    def deliver_due(self) -> int:
        """Claim what is due and deliver it; returns how many mails were handled (sent or failed)."""
        repeatable = bool(getattr(self.transport, "repeatable", False))
        limit = BATCH if repeatable else 1
        handled = 0
        while True:
            stop_at = time.monotonic() + self.config.mail_claim_s / 2
            claimed = self.claim(limit)
            handled += self._deliver(claimed, stop_at)
            if len(claimed) < limit:
                return handled

    def _deliver(self, claimed: List[Claimed], stop_at: float) -> int:
        """Send what was claimed (no send begins past ``stop_at``: the rest is claimed again later); a
        repeatable transport's mail is recorded once per batch, SMTP mail after each send."""
        repeatable = getattr(self.transport, "repeatable", False)
        sent: List[dict[str, Any]] = []
        handled = 0
        for mail in claimed:
            if time.monotonic() > stop_at:
                break
            handled += 1
            subject, body = open_mail(self.sealer, mail.id, mail.sealed)
            try:
                self.transport.send(mail.recipient, subject, body, mail.id)
            except (OSError, smtplib.SMTPException) as exc:
                self._record_failure(mail, exc)
                continue
            sent.append({"mail_id": mail.id, "worker": self.worker, "now": utcnow()})
            if not repeatable:
                self._record(_SENT, sent.pop())
        if sent:
            self._record(_SENT, sent)
        return handled

    def _record_failure(self, mail: Claimed, exc: BaseException) -> None:
        attempts = mail.attempts + 1
        retry_at: datetime = utcnow() + timedelta(seconds=self.backoff_s(attempts))
        error = f"{type(exc).__name__}: {exc}"[:200]
        if attempts >= MAX_ATTEMPTS:
            log.error("mail %s to %s given up after %d attempts: %s", mail.id, mail.recipient, attempts, error)
        else:
            log.warning("mail %s to %s not sent (attempt %d), retried at %s: %s", mail.id, mail.recipient,
                        attempts, f"{retry_at:%H:%M:%S}", error)  # fmt: skip
        self._record(_FAILED, {"mail_id": mail.id, "worker": self.worker, "retry_at": retry_at, "error": error})

    def _record(self, statement: Any, values: Any) -> None:
        with self.db.engine.begin() as connection:
            connection.execute(statement, values)
