"""Hashing of guessable secrets, rate limits, one-time secrets (captcha, nonce, unlock code), audit."""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import Connection, bindparam, case, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gm.sm3 import hmac_sm3, sm3
from server import models
from server.domain import OneTimeKind
from server.errors import RateLimited


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def token_hash(token: str) -> str:
    """Bearer tokens are 256-bit random: a plain SM3 is enough to store them."""
    return sm3(token.encode()).hex()


def secret_hash(pepper: bytes, value: str) -> str:
    """Short guessable secrets (captcha answers, unlock codes) are HMAC-SM3'd under a server pepper."""
    return hmac_sm3(pepper, value.encode()).hex()


def password_hash(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = Scrypt(salt=salt, length=32, n=1 << 15, r=8, p=1).derive(password.encode())
    return "scrypt$15$" + base64.b64encode(salt + digest).decode()


def check_password(password: str, stored: str) -> bool:
    scheme, log_n, blob = stored.split("$")
    raw = base64.b64decode(blob)
    digest = Scrypt(salt=raw[:16], length=32, n=1 << int(log_n), r=8, p=1).derive(password.encode())
    return scheme == "scrypt" and hmac.compare_digest(digest, raw[16:])


# The longest window a rate limit may use: housekeeping deletes counters whose window began longer ago.
MAX_RATE_WINDOW_S = 24 * 3600


def _count_statement(dialect: str) -> Any:
    """One atomic statement: start a counter, count one more in its window, or start a new window; returns
    the count and the window's start. (INSERT ... ON CONFLICT DO UPDATE ... RETURNING: PostgreSQL, SQLite.)"""
    insert_of = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = models.RATE_LIMITS
    now = bindparam("now", type_=table.c.window_start.type)
    expired = table.c.window_start <= bindparam("cutoff", type_=table.c.window_start.type)
    return (
        insert_of(table)
        .values(key=bindparam("key"), window_start=now, count=1)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "window_start": case((expired, now), else_=table.c.window_start),
                "count": case((expired, 1), else_=table.c.count + 1),
            },
        )
        .returning(table.c.count, table.c.window_start)
    )


_COUNT = {dialect: _count_statement(dialect) for dialect in ("postgresql", "sqlite")}


def rate_limit(session: Session, key: str, limit: int, window_s: int) -> None:
    """Count one event for ``key``; raise RateLimited past ``limit`` per ``window_s`` seconds.

    Stored in the database, so every worker, host and restart sees the same count. The count is committed
    at once in its own transaction, on a connection of its own: whatever happens to the request afterwards
    (a refusal, a rollback, an unexpected error answered with a 500), the attempt has been counted.
    Call it before the caller's unit of work writes anything (SQLite has one writer at a time).
    """
    if not 0 < window_s <= MAX_RATE_WINDOW_S:
        raise ValueError(f"rate-limit window {window_s} s is outside 1..{MAX_RATE_WINDOW_S} s")
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    now = utcnow()
    with engine.begin() as connection:
        count, start = connection.execute(
            _COUNT[engine.dialect.name], {"key": key, "now": now, "cutoff": now - timedelta(seconds=window_s)}
        ).one()
    if count > limit:
        raise RateLimited(int((aware(start) + timedelta(seconds=window_s) - now).total_seconds()) + 1)


def new_one_time(
    session: Session, kind: OneTimeKind, hashed: str, ttl_s: int, attempts: int = 1, subject: Optional[str] = None
) -> str:
    ident = secrets.token_urlsafe(18)
    now = utcnow()
    session.add(
        models.OneTimeSecret(
            id=ident,
            kind=kind,
            secret_hash=hashed,
            subject=subject,
            expires_at=now + timedelta(seconds=ttl_s),
            attempts_left=attempts,
            used=False,
            created_at=now,
        )
    )
    return ident


_INSERT_AUDIT = insert(models.AUDIT_LOG)


def audit_entry(
    event: str,
    account_id: Optional[int] = None,
    serial: Optional[str] = None,
    client: Optional[str] = None,
    **detail: Any,
) -> Dict[str, Any]:
    return {
        "at": utcnow(),
        "event": event,
        "account_id": account_id,
        "certificate_serial": serial,
        "client": client,
        "detail": json.dumps(detail, ensure_ascii=False, default=str),
    }


def audit(
    session: Session,
    event: str,
    account_id: Optional[int] = None,
    serial: Optional[str] = None,
    client: Optional[str] = None,
    **detail: Any,
) -> None:
    # An INSERT, not an object for the unit of work: cheaper.
    session.connection().execute(_INSERT_AUDIT, audit_entry(event, account_id, serial, client, **detail))


def audit_many(session: Session, entries: List[Dict[str, Any]]) -> None:
    """Entries made by ``audit_entry``, in one executemany."""
    session.connection().execute(_INSERT_AUDIT, entries)


def lookup_one_time(session: Session, ident: str, kind: OneTimeKind) -> Optional[models.OneTimeSecret]:
    return session.scalar(
        select(models.OneTimeSecret)
        .where(models.OneTimeSecret.id == ident, models.OneTimeSecret.kind == kind)
        .with_for_update()
    )
