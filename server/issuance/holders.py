"""Who receives a pair: the session's account, read and locked with its session in one statement; the rules a
request must pass; the claims that take an account's right to a pair.

The certificate operations are the hot path (benchmarks/issuance.py): their statements are built once here and
run on the session's connection, without the ORM unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from server import models
from server.accounts import account_not_approved
from server.domain import AccountStatus, AccountType, CertStatus, SessionKind
from server.errors import ServiceError, conflict, forbidden
from server.issuance.codes import issuance_secret_required
from server.security import token_hash, utcnow
from server.sessions import certificate_refusal, session_expired, session_invalid


@dataclass(frozen=True)
class Holder:
    """What a certificate operation needs of the account."""

    id: int
    status: AccountStatus
    applicant_name: str
    account_type: AccountType
    id_number: str
    email: str
    may_issue: bool
    exchange_required: bool
    pending_name: Optional[str]
    name_change_approved: bool


@dataclass(frozen=True)
class SessionHolder:
    """A session and the account it belongs to (and, for a certificate session, its certificate's state)."""

    holder: Holder
    kind: SessionKind
    certificate_serial: Optional[str]
    expires_at: Optional[datetime]
    certificate_status: Optional[CertStatus] = None
    certificate_not_after: Optional[datetime] = None
    issuance_grant: Optional[str] = None  # what opened issuance to an account session (server.issuance.codes)
    token_hash: str = ""


_HOLDER_COLUMNS = [models.ACCOUNTS.c[f.name] for f in fields(Holder)]
_SESSION_HOLDER = select(
    *_HOLDER_COLUMNS,
    models.API_SESSIONS.c.kind,
    models.API_SESSIONS.c.certificate_serial,
    models.API_SESSIONS.c.expires_at,
    models.API_SESSIONS.c.token_hash,
    models.CERTIFICATES.c.status.label("certificate_status"),
    models.CERTIFICATES.c.not_after.label("certificate_not_after"),
    models.API_SESSIONS.c.issuance_grant,
).select_from(
    models.API_SESSIONS.join(models.ACCOUNTS, models.API_SESSIONS.c.account_id == models.ACCOUNTS.c.id).outerjoin(
        models.CERTIFICATES, models.API_SESSIONS.c.certificate_serial == models.CERTIFICATES.c.serial
    )
)
_AUTHORIZE = _SESSION_HOLDER.where(models.API_SESSIONS.c.token_hash == bindparam("token_hash")).with_for_update(
    of=models.ACCOUNTS
)
# A batch locks its accounts in id order: two batches (two workers) can then never deadlock.
_AUTHORIZE_MANY = (
    _SESSION_HOLDER.where(models.API_SESSIONS.c.token_hash.in_(bindparam("token_hashes", expanding=True)))
    .order_by(models.ACCOUNTS.c.id)
    .with_for_update(of=models.ACCOUNTS)
)
# Claims re-check their flag when they write it: SQLite takes no row lock on read, so two requests for one
# account can both pass the checks; the one whose claim changes no row came second.
_CLAIM_FIRST_ISSUANCES = (
    update(models.ACCOUNTS)
    .where(models.ACCOUNTS.c.id.in_(bindparam("holders", expanding=True)), models.ACCOUNTS.c.may_issue.is_(True))
    .values(may_issue=False)
)
_CLAIM_EXCHANGE = (
    update(models.ACCOUNTS)
    .where(models.ACCOUNTS.c.id == bindparam("holder"), models.ACCOUNTS.c.exchange_required.is_(True))
    .values(exchange_required=False, may_issue=False)
)


def _session_holder(row: Any) -> SessionHolder:
    return SessionHolder(
        Holder(*row[: len(_HOLDER_COLUMNS)]),
        row.kind,
        row.certificate_serial,
        row.expires_at,
        row.certificate_status,
        row.certificate_not_after,
        row.issuance_grant,
        row.token_hash,
    )


# -- reading and locking ---------------------------------------------------------------------------------
def authorize(session: Session, token: str) -> SessionHolder:
    """The token's live session and its approved account, locked for this unit of work, in one query."""
    row = session.connection().execute(_AUTHORIZE, {"token_hash": token_hash(token)}).first()
    if row is None:
        raise session_invalid()
    found = _session_holder(row)
    refusal = session_refusal(found, utcnow())
    if refusal is not None:
        raise refusal
    return found


def authorize_many(session: Session, token_hashes: Sequence[str]) -> Dict[str, SessionHolder]:
    """The sessions and accounts of many tokens by token hash, accounts locked in id order; nothing checked."""
    rows = session.connection().execute(_AUTHORIZE_MANY, {"token_hashes": sorted(set(token_hashes))})
    return {row.token_hash: _session_holder(row) for row in rows}


# -- the rules -------------------------------------------------------------------------------------------
def session_refusal(found: SessionHolder, now: datetime) -> Optional[ServiceError]:
    """Every certificate operation needs a live session of an approved account; a certificate session, a
    certificate that is still valid (not revoked, superseded or expired)."""
    if session_expired(found.expires_at, now):
        return session_invalid()
    if found.kind == SessionKind.CERTIFICATE:
        refusal = certificate_refusal(found.certificate_status, found.certificate_not_after, now)
        if refusal is not None:
            return refusal
    if found.holder.status != AccountStatus.APPROVED:
        return account_not_approved()
    return None


def account_login_refusal(found: SessionHolder) -> Optional[ServiceError]:
    """证书签发 needs an account login."""
    if found.kind != SessionKind.ACCOUNT:
        return forbidden("account_login_required", "证书签发需要使用账号登录")
    return None


def issuance_secret_refusal(found: SessionHolder) -> Optional[ServiceError]:
    """An account session issues only once the holder's secret opened it (issue 13.3); a certificate session
    (证书换发 with a valid certificate) is its own proof."""
    if found.kind == SessionKind.ACCOUNT and found.issuance_grant is None:
        return issuance_secret_required()
    return None


def first_issuance_refusal(holder: Holder) -> Optional[ServiceError]:
    """The one rule of 证书签发: the account may receive a pair (approved, or its pair was revoked) and need
    not exchange an old one first."""
    if holder.exchange_required:
        return conflict("exchange_required", "您的账号需要办理「证书换发」，请在右键菜单中选择「证书换发」")
    if not holder.may_issue:
        return issue_not_allowed()
    return None


def issue_not_allowed() -> ServiceError:
    return forbidden(
        "issue_not_allowed", "该账号当前不能签发新证书（已签发过证书）；如需更换请先「证书废除」或联系管理员"
    )


def exchange_not_required() -> ServiceError:
    return conflict("exchange_not_required", "您的账号无需换发证书")


# -- claims ----------------------------------------------------------------------------------------------
def claim_first_issuances(session: Session, holder_ids: List[int]) -> int:
    """Take the accounts' right to a first pair; returns how many still had it."""
    return int(session.connection().execute(_CLAIM_FIRST_ISSUANCES, {"holders": holder_ids}).rowcount)


def claim_exchange(session: Session, holder_id: int) -> bool:
    """Take the account's exchange (证书换发); False when a concurrent request took it first."""
    return bool(session.connection().execute(_CLAIM_EXCHANGE, {"holder": holder_id}).rowcount)
