"""Housekeeping: what has expired is deleted, so the tables of short-lived rows do not grow for ever.

Expired captchas, login nonces and unlock codes (one hour after they expire), expired sessions, rate-limit
counters whose window is over, delivered mail after ``mail_keep_days`` (failed mail after four times that).

Any worker of any host may run it: each worker checks every ``housekeeping_interval_s`` whether the last run
(the ``service_jobs`` row, taken in one atomic statement) is that old, and only the one that takes the turn
runs it. Deletions go in chunks, so no statement holds many locks for long. ``certassist-server housekeeping``
runs it at once.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Dict

from sqlalchemy import Engine, bindparam, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server import models
from server.config import ServerConfig
from server.db import Database
from server.domain import MailStatus
from server.security import MAX_RATE_WINDOW_S, utcnow

JOB = "housekeeping"
CHUNK = 2000
ONE_TIME_GRACE = timedelta(hours=1)


def _turn_statement(dialect: str) -> Any:
    """Take the job's turn: insert its row, or move its last run to now if that was ``interval`` ago; a row
    comes back only to the worker that took the turn."""
    jobs = models.SERVICE_JOBS
    insert_of = postgresql_insert if dialect == "postgresql" else sqlite_insert
    now = bindparam("now", type_=jobs.c.last_run_at.type)
    return (
        insert_of(jobs)
        .values(name=bindparam("name"), last_run_at=now, ran_by=bindparam("worker"))
        .on_conflict_do_update(
            index_elements=[jobs.c.name],
            set_={"last_run_at": now, "ran_by": bindparam("worker")},
            where=jobs.c.last_run_at <= bindparam("due", type_=jobs.c.last_run_at.type),
        )
        .returning(jobs.c.name)
    )


_TURN = {dialect: _turn_statement(dialect) for dialect in ("postgresql", "sqlite")}


class Housekeeping:
    def __init__(self, db: Database, config: ServerConfig, worker: str) -> None:
        self.db = db
        self.config = config
        self.worker = worker
        self._checked = float("-inf")  # monotonic time of this process's last look

    def run_if_due(self) -> bool:
        """Run when this process has not looked for an interval and no worker anywhere ran it for one."""
        interval = self.config.housekeeping_interval_s
        if time.monotonic() - self._checked < interval:
            return False
        self._checked = time.monotonic()
        if not self.take_turn(interval):
            return False
        self.purge()
        return True

    def take_turn(self, interval_s: float) -> bool:
        engine = self.db.engine
        now = utcnow()
        values = {"name": JOB, "now": now, "worker": self.worker, "due": now - timedelta(seconds=interval_s)}
        with engine.begin() as connection:
            return connection.execute(_TURN[engine.dialect.name], values).first() is not None

    def purge(self) -> Dict[str, int]:
        """Delete what has expired; the number of rows deleted from each table."""
        now = utcnow()
        secrets, sessions, limits, mail = (
            models.ONE_TIME_SECRETS,
            models.API_SESSIONS,
            models.RATE_LIMITS,
            models.MAIL_OUTBOX,
        )
        keep = timedelta(days=self.config.mail_keep_days)
        return {
            "one_time_secrets": _purge(self.db.engine, secrets.c.id, secrets.c.expires_at < now - ONE_TIME_GRACE),
            "api_sessions": _purge(self.db.engine, sessions.c.token_hash, sessions.c.expires_at < now),
            "rate_limits": _purge(
                self.db.engine, limits.c.key, limits.c.window_start < now - timedelta(seconds=MAX_RATE_WINDOW_S)
            ),
            "mail_outbox": _purge(
                self.db.engine,
                mail.c.id,
                or_(
                    (mail.c.status == MailStatus.SENT.value) & (mail.c.sent_at < now - keep),
                    (mail.c.status == MailStatus.FAILED.value) & (mail.c.next_attempt_at < now - 4 * keep),
                ),
            ),
        }


def _purge(engine: Engine, key: Any, expired: Any) -> int:
    """Delete the rows matching ``expired``, a chunk per transaction; how many."""
    table = key.table
    total = 0
    while True:
        chosen = select(key).where(expired).limit(CHUNK).scalar_subquery()
        with engine.begin() as connection:
            deleted = connection.execute(delete(table).where(key.in_(chosen))).rowcount
        total += deleted
        if deleted < CHUNK:
            return total
