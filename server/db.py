"""Engine and sessions; the schema is created and upgraded only through the Alembic migrations."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from server.errors import ServiceError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str) -> Engine:
    # hide_parameters: a database error's text (logged with an unexpected failure) never carries a
    # statement's values, such as password or one-time-secret hashes.
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True, hide_parameters=True)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)  # its events reach every session

    def migrate(self) -> None:
        upgrade(self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success and on a refusal (ServiceError), rolled back on anything else.

        A refusal is a normal outcome whose bookkeeping must stay: a burnt captcha or nonce, a spent
        unlock-code attempt, a failed-login count, a rate-limit hit, the audit entry.
        """
        session = self.session_factory()
        try:
            yield session
            session.commit()
        except ServiceError:
            session.commit()
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
