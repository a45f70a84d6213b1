"""API sessions: opened by a login, named by a bearer token (stored as its SM3 hash), ended by logout or with
the certificate they were opened with.

The rule "logged in with a certificate" is written here once (``Sessions.certificate_login``); the HTTP layer
applies it as one dependency. A certificate session lives only as long as its certificate (issue 13.1): it
ends when the certificate is revoked or superseded (``end_certificate_sessions``, called by every revocation),
it is opened to end no later than the certificate expires, and every use checks the certificate is still valid
(``certificate_refusal``), so a session left from before a check was added cannot outlive it either.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server import models
from server.config import ServerConfig
from server.db import Database
from server.domain import CertStatus, SessionKind
from server.errors import ServiceError, forbidden, unauthorized
from server.security import aware, token_hash, utcnow


@dataclass(frozen=True)
class Principal:
    """Who a live session belongs to."""

    account_id: int
    kind: SessionKind
    certificate_serial: Optional[str]  # of the signing certificate, for a certificate session
    issuance_authorized: bool = False  # the holder's secret opened 证书签发 / 证书换发 (server.issuance.codes)


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


def certificate_refusal(
    status: Optional[CertStatus], not_after: Optional[datetime], now: datetime
) -> Optional[ServiceError]:
    """A certificate session is usable only while its certificate is: not revoked (证书废除, or superseded by
    证书更新 / 证书换发) and not expired. ``status`` None: no such certificate."""
    if status != CertStatus.VALID:
        return unauthorized("session_certificate_revoked", "登录所用的证书已废除或已被更新，登录已失效，请重新登录")
    if not_after is None or aware(not_after) <= now:
        return unauthorized("session_certificate_expired", "登录所用的证书已过期，登录已失效，请重新登录")
    return None


class Sessions:
    def __init__(self, db: Database, config: ServerConfig) -> None:
        self.db = db
        self.config = config

    def open(
        self,
        session: Session,
        account_id: int,
        kind: SessionKind,
        serial: Optional[str] = None,
        not_after: Optional[datetime] = None,
    ) -> str:
        """A new session in the caller's unit of work; returns its bearer token (never stored). A certificate
        session (``serial``) ends no later than its certificate's ``not_after``."""
        token = secrets.token_urlsafe(32)
        expires_at = utcnow() + timedelta(seconds=self.config.session_ttl_s)
        if not_after is not None:
            expires_at = min(expires_at, aware(not_after))
        session.add(
            models.ApiSession(
                token_hash=token_hash(token),
                account_id=account_id,
                kind=kind,
                certificate_serial=serial,
                expires_at=expires_at,
            )
        )
        return token

    def principal(self, token: str) -> Principal:
        """The token's live session; a certificate session only while its certificate is valid."""
        with self.db.session() as session:
            row = session.get(models.ApiSession, token_hash(token))
            now = utcnow()
            if row is None or session_expired(row.expires_at, now):
                raise session_invalid()
            if row.kind == SessionKind.CERTIFICATE:
                cert = session.execute(
                    select(models.Certificate.status, models.Certificate.not_after).where(
                        models.Certificate.serial == row.certificate_serial
                    )
                ).first()
                refusal = certificate_refusal(cert.status if cert else None, cert.not_after if cert else None, now)
                if refusal is not None:
                    session.delete(row)  # ended for good: its certificate will not come back
                    raise refusal
            return Principal(row.account_id, row.kind, row.certificate_serial, row.issuance_grant is not None)

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
