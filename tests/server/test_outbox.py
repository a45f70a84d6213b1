"""The mail outbox (issue 13.14): mail is written in the transaction of its event, delivered by any worker exactly
once, retried with backoff while SMTP is down; a dead worker's claim runs out. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
from sqlalchemy import func, select

from server import models
from server.config import MailConfig, ServerConfig
from server.db import Database
from server.delivery import MailDelivery
from server.domain import MailStatus
from server.errors import bad_request
from server.mail import Outbox, SmtpMailer
from server.sealing import Sealer
from server.security import aware
from tests.peers import SmtpServer, free_port


class Sent:
    """A transport that records what it sends (and can be told to fail)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.mail: List[Tuple[str, str, str, str]] = []
        self.delay = delay
        self.lock = threading.Lock()

    def send(self, to: str, subject: str, body: str, message_id: str) -> None:
        time.sleep(self.delay)
        with self.lock:
            self.mail.append((to, subject, body, message_id))


Setup = Tuple[Database, Outbox, Sealer, ServerConfig]


@pytest.fixture()
def outbox(database_url: str, tmp_path: Path) -> Iterator[Setup]:
    db = Database(database_url)
    db.migrate()
    sealer = Sealer(bytes(range(16)))
    config = ServerConfig(data_dir=tmp_path, database_url=database_url, mail_retry_base_s=0.5, mail_claim_s=2.0)
    yield db, Outbox(db, sealer), sealer, config
    db.engine.dispose()


def stored(db: Database) -> List[models.MailMessage]:
    with db.session() as session:
        return list(session.scalars(select(models.MailMessage).order_by(models.MailMessage.created_at)))


def test_mail_exists_once_its_unit_of_work_commits(outbox: Setup) -> None:
    db, mail, sealer, config = outbox
    woken: List[str] = []
    mail.on_commit = lambda: woken.append("now")
    with db.session() as session:
        mail.post(session, "a@example.com", "subject", "body")
        with session.begin_nested():  # a savepoint is not the end of the unit of work
            mail.post(session, "b@example.com", "subject", "body")
        assert woken == []
    assert woken == ["now"] and [m.recipient for m in stored(db)] == ["a@example.com", "b@example.com"]
    sent = Sent()
    assert MailDelivery(db, sealer, sent, config).deliver_due() == 2
    assert [to for to, *_rest in sent.mail] == ["a@example.com", "b@example.com"]
    assert {m.status for m in stored(db)} == {MailStatus.SENT}
    assert MailDelivery(db, sealer, sent, config).deliver_due() == 0  # nothing twice


def test_a_rollback_drops_the_mail_posted_before_it(outbox: Setup) -> None:
    db, mail, _sealer, _config = outbox
    with pytest.raises(RuntimeError), db.session() as session:
        mail.post(session, "lost@example.com", "subject", "body")
        raise RuntimeError("the event did not happen")
    with db.session() as session:
        mail.post(session, "dropped@example.com", "subject", "body")
        session.rollback()  # as a request that came second does
        mail.post(session, "kept@example.com", "subject", "body")
    assert [m.recipient for m in stored(db)] == ["kept@example.com"]


def test_a_refusal_commits_what_was_posted(outbox: Setup) -> None:
    """A refusal keeps its bookkeeping (server.db): the use cases post mail after their last refusal."""
    db, mail, _sealer, _config = outbox
    with pytest.raises(Exception, match="refused"), db.session() as session:
        mail.post(session, "a@example.com", "subject", "body")
        raise bad_request("refused", "refused")
    assert len(stored(db)) == 1


def test_the_body_is_sealed_at_rest(outbox: Setup) -> None:
    db, mail, _sealer, _config = outbox
    with db.session() as session:
        mail.post(session, "a@example.com", "【证书助手】证书解锁码", "解锁码：73920184")
    [row] = stored(db)
    assert b"73920184" not in row.sealed and "解锁码".encode() not in row.sealed


def test_two_workers_deliver_every_mail_exactly_once(outbox: Setup) -> None:
    db, mail, sealer, config = outbox
    for n in range(300):
        with db.session() as session:
            mail.post(session, f"u{n}@example.com", "subject", f"body {n}")
    sent = Sent(delay=0.001)
    workers = [MailDelivery(db, sealer, sent, config) for _ in range(3)]
    threads = [threading.Thread(target=worker.deliver_due) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [message_id for *_rest, message_id in sent.mail]
    assert len(ids) == len(set(ids)) == 300
    assert {m.status for m in stored(db)} == {MailStatus.SENT}


def test_a_dead_workers_claim_runs_out(outbox: Setup) -> None:
    db, mail, sealer, config = outbox
    with db.session() as session:
        message_id = mail.post(session, "a@example.com", "subject", "body")
    dead = MailDelivery(db, sealer, Sent(), config)
    assert [c.id for c in dead.claim(1)] == [message_id]  # ... and the worker is killed before it sends
    sent = Sent()
    alive = MailDelivery(db, sealer, sent, config)
    assert alive.deliver_due() == 0  # claimed: not taken from a worker that may still be sending
    time.sleep(config.mail_claim_s + 0.2)
    assert alive.deliver_due() == 1 and [m[3] for m in sent.mail] == [message_id]
    assert dead.claim(1) == []  # the first worker's claim is gone: it has nothing to send
    assert len(sent.mail) == 1


def test_smtp_down_is_retried_with_backoff(outbox: Setup, smtp: SmtpServer) -> None:
    db, mail, sealer, config = outbox
    with db.session() as session:
        message_id = mail.post(session, "retry@example.com", "【证书助手】账号审核通过", "正文")
    down = MailConfig(mode="smtp", smtp_host="127.0.0.1", smtp_port=free_port())  # nothing listens there
    delivery = MailDelivery(db, sealer, SmtpMailer(down, timeout=5), config)
    waits = []
    for attempt in (1, 2):
        assert delivery.deliver_due() == 1
        [row] = stored(db)
        assert (
            row.status == MailStatus.PENDING
            and row.attempts == attempt
            and "ConnectionRefused" in (row.last_error or "")
        )
        wait = aware(row.next_attempt_at).timestamp() - time.time()
        waits.append(wait)
        assert delivery.deliver_due() == 0  # not due yet
        time.sleep(max(0.0, wait) + 0.1)
    assert 0.2 < waits[0] < 0.6 and 0.7 < waits[1] < 1.1  # 0.5 s, then twice that
    delivery.transport = SmtpMailer(replace(down, smtp_port=smtp.port))  # SMTP is back
    assert delivery.deliver_due() == 1
    message = smtp.inbox.wait_for("retry@example.com", "账号审核通过")
    assert message["Message-ID"] == f"<{message_id}@certassist.invalid>"
    assert [m.status for m in stored(db)] == [MailStatus.SENT]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(models.MailMessage)) == 1
