"""Housekeeping (issue 13.9) and the migration that added the outbox (issue 13.14), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, select, text

from server import models
from server.db import Database, alembic_config
from server.domain import OneTimeKind, SessionKind
from server.housekeeping import Housekeeping
from server.models import Base
from server.security import new_one_time, utcnow
from tests.server.conftest import Server, new_user


def count(server: Server, model: type) -> int:
    with server.service.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_expired_rows_are_purged_and_live_ones_kept(server: Server) -> None:
    user = new_user(server)  # its approval mail goes through the outbox
    server.smtp.inbox.wait_for(user["email"], "审核通过")
    # The service's own worker delivers and takes the first housekeeping turn at once: stop it (after its
    # delivery is recorded) so that its purge cannot race the rows made below.
    server.service.background.close()
    old = utcnow() - timedelta(days=30)
    with server.service.db.session() as session:
        account_id = session.scalar(select(models.Account.id))
        assert account_id is not None
        for kind in OneTimeKind:
            new_one_time(session, kind, "x", ttl_s=-7200)  # expired two hours ago
            new_one_time(session, kind, "x", ttl_s=600)  # live
        session.add(models.ApiSession(token_hash="old", account_id=account_id, kind=SessionKind.ACCOUNT,
                                      expires_at=old))  # fmt: skip
        session.add(models.ApiSession(token_hash="new", account_id=account_id, kind=SessionKind.ACCOUNT,
                                      expires_at=utcnow() + timedelta(minutes=5)))  # fmt: skip
        session.add(models.RateLimit(key="old", window_start=old, count=3))
        session.add(models.RateLimit(key="new", window_start=utcnow(), count=3))
        session.execute(models.MAIL_OUTBOX.update().values(sent_at=old))  # the approval mail, sent long ago
    assert count(server, models.MailMessage) == 1
    kinds = len(OneTimeKind)
    purged = server.service.housekeeping.purge()
    assert purged == {"one_time_secrets": kinds, "api_sessions": 1, "rate_limits": 1, "mail_outbox": 1}
    # The live ones stay, and so does the issuance code the approval mailed (valid for days).
    assert count(server, models.OneTimeSecret) == kinds + 1 and count(server, models.ApiSession) == 1
    assert count(server, models.RateLimit) == 1 and count(server, models.MailMessage) == 0


def test_one_worker_of_all_hosts_takes_each_turn(server: Server) -> None:
    db = server.service.db
    workers = [Housekeeping(db, server.service.config, f"host{n}:1") for n in range(4)]
    taken = [worker.take_turn(3600) for worker in workers]
    assert taken.count(True) == 1  # the first; the others find it ran within the hour
    assert not any(worker.take_turn(3600) for worker in workers)
    assert sum(worker.take_turn(0) for worker in workers[:1]) == 1  # a period later: a turn again
    assert server.service.housekeeping.run_if_due() in (True, False)


def test_the_outbox_migration_from_the_previous_head(database_url: str, tmp_path: Path) -> None:
    """A database made by revision 0001, with rows in it, upgrades to the head (and back)."""
    config = alembic_config(database_url)
    command.upgrade(config, "0001")
    engine = create_engine(database_url)
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO accounts (username, applicant_name, account_type, id_number, email, status, may_issue,"
                " exchange_required, name_change_approved, failed_logins, created_at) VALUES ('old', '张三',"
                " 'natural', '11010519491231002X', 'old@example.com', 'approved', true, false, false, 0, :now)"
            ),
            {"now": now},
        )
    assert "mail_outbox" not in inspect(engine).get_table_names()
    Database(database_url).migrate()  # what the service does at start
    tables = inspect(engine).get_table_names()
    assert {"mail_outbox", "service_jobs", "accounts"} <= set(tables)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT username FROM accounts")).scalars().all() == ["old"]
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    command.downgrade(config, "0001")
    assert "mail_outbox" not in inspect(engine).get_table_names()
    engine.dispose()
