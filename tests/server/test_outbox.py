"""Mail is posted in the unit of work of its event and handed to the mailer only when that unit commits."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import pytest

from server.db import Database
from server.errors import bad_request
from server.mail import Outbox


class Sent:
    def __init__(self) -> None:
        self.mail: List[Tuple[str, str, str]] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.mail.append((to, subject, body))


@pytest.fixture()
def outbox(tmp_path: Path) -> Tuple[Database, Outbox, Sent]:
    db = Database(f"sqlite:///{tmp_path / 'outbox.db'}")
    sent = Sent()
    return db, Outbox(db, sent), sent


def test_mail_leaves_when_its_unit_of_work_commits(outbox: Tuple[Database, Outbox, Sent]) -> None:
    db, mail, sent = outbox
    with db.session() as session:
        mail.post(session, "a@example.com", "subject", "body")
        with session.begin_nested():  # a savepoint (as a rate limit takes) is not the end of the unit
            mail.post(session, "b@example.com", "subject", "body")
        assert sent.mail == []
    assert [to for to, _subject, _body in sent.mail] == ["a@example.com", "b@example.com"]


def test_a_rollback_drops_the_mail_posted_before_it(outbox: Tuple[Database, Outbox, Sent]) -> None:
    db, mail, sent = outbox
    with pytest.raises(RuntimeError), db.session() as session:
        mail.post(session, "lost@example.com", "subject", "body")
        raise RuntimeError("the event did not happen")
    with db.session() as session:
        mail.post(session, "dropped@example.com", "subject", "body")
        session.rollback()  # as a request that came second does
        mail.post(session, "kept@example.com", "subject", "body")
    assert [to for to, _subject, _body in sent.mail] == ["kept@example.com"]


def test_a_refusal_commits_what_was_posted(outbox: Tuple[Database, Outbox, Sent]) -> None:
    """A refusal keeps its bookkeeping (server.db): the use cases post mail after their last refusal."""
    db, mail, sent = outbox
    with pytest.raises(Exception, match="refused"), db.session() as session:
        mail.post(session, "a@example.com", "subject", "body")
        raise bad_request("refused", "refused")
    assert len(sent.mail) == 1
