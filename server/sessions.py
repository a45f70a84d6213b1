"""API sessions: opened by a login, named by a bearer token (stored as its SM3 hash), ended by logout or with
the certificate they were opened with.

The rule "logged in with a certificate" is written here once (``Sessions.certificate_login``); the HTTP layer
applies it as one dependency. Issue 13.1 (a session ends when its certificate is superseded, revoked or expires)
lands here too: ``end_certificate_sessions`` is the one way to end them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import delete
from sqlalchemy.orm import Session

from server import models
from server.config import ServerConfig
from server.db import Database
from server.domain import SessionKind
from server.errors import ServiceError, forbidden, unauthorized
from server.security import aware, token_hash, utcnow


@dataclass(frozen=True)
class Principal:
    """Who a live session belongs to."""

    account_id: int
    kind: SessionKind
    certificate_serial: Optional[str]  # of the signing certificate, for a certificate session


@dataclass(frozen=True)
class CertificateLogin:
    """A live session opened by certificate login: what the certificate-only operations act on."""

    token: str
    account_id: int
    certificate_serial: str


def session_expired(expires_at: Optional[datetime], now: datetime) -> bool:
    """No session (``None``) or one past its end."""
    return expires_at is None or aware(expires_at) <= now


def session_invalid() -> ServiceError:
    return unauthorized("session_invalid", "登录已过期，请重新登录")


def certificate_login_required(action: str, hint: str = "") -> ServiceError:
    return forbidden("certificate_login_required", f"{action}需要使用证书登录{hint}")


class Sessions:
    def __init__(self, db: Database, config: ServerConfig) -> None:
        self.db = db
        self.config = config

    def open(self, session: Session, account_id: int, kind: SessionKind, serial: Optional[str] = None) -> str:
        """A new session in the caller's unit of work; returns its bearer token (never stored)."""
        token = secrets.token_urlsafe(32)
        session.add(
            models.ApiSession(
                token_hash=token_hash(token),
                account_id=account_id,
                kind=kind,
                certificate_serial=serial,
                expires_at=utcnow() + timedelta(seconds=self.config.session_ttl_s),
            )
        )
        return token

    def principal(self, token: str) -> Principal:
        with self.db.session() as session:
            row = session.get(models.ApiSession, token_hash(token))
            if row is None or session_expired(row.expires_at, utcnow()):
                raise session_invalid()
            return Principal(row.account_id, row.kind, row.certificate_serial)

    def certificate_login(self, token: str, action: str, hint: str = "") -> CertificateLogin:
        """The token's session, which must have been opened by certificate login; ``action`` names the refused
        operation in the message (e.g. 证书废除), ``hint`` adds why a certificate is asked for."""
        principal = self.principal(token)
        if principal.kind != SessionKind.CERTIFICATE or principal.certificate_serial is None:
            raise certificate_login_required(action, hint)
        return CertificateLogin(token, principal.account_id, principal.certificate_serial)

    def end(self, token: str) -> None:
        """Logout: the token no longer opens anything (an unknown token is already ended)."""
        with self.db.session() as session:
            row = session.get(models.ApiSession, token_hash(token))
            if row is not None:
                session.delete(row)

    @staticmethod
    def end_certificate_sessions(session: Session, serial: str) -> None:
        """End every session opened with the signing certificate ``serial``, in the caller's unit of work."""
        session.execute(delete(models.ApiSession).where(models.ApiSession.certificate_serial == serial))
