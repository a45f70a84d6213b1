"""Hashing of guessable secrets, rate limits, one-time secrets (captcha, nonce, unlock code), audit."""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
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


def rate_limit(session: Session, key: str, limit: int, window_s: int) -> None:
    """Count one event for ``key``; raise RateLimited past ``limit`` per ``window_s`` seconds.

    Stored in the database, so every worker and restart sees the same count.
    """
    now = utcnow()
    row = session.get(models.RateLimit, key, with_for_update=True)
    if row is None:
        try:
            with session.begin_nested():
                session.add(models.RateLimit(key=key, window_start=now, count=1))
            return
        except IntegrityError:
            row = session.get(models.RateLimit, key, with_for_update=True)
            assert row is not None
    start = aware(row.window_start)
    if now - start >= timedelta(seconds=window_s):
        row.window_start, row.count = now, 1
        return
    row.count += 1
    if row.count > limit:
        raise RateLimited(int((start + timedelta(seconds=window_s) - now).total_seconds()) + 1)


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
