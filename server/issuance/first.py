"""证书签发: a first pair for an account login whose account may receive one.

Requests run on the issuing threads of a Batcher: first issuances that arrive together are made in one
transaction (``issue_together``), and every other request (a refusal, a retry, a second request for one
account, or all of a batch that failed) gets the answer it would get alone (``issue_alone``).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Union

from sqlalchemy.orm import Session

from gm.sm2 import SM2PublicKey
from server.batcher import Batcher
from server.db import Database
from server.errors import ServiceError
from server.issuance.codes import issuance_secret_required, spend_grants
from server.issuance.holders import (
    Holder,
    account_login_refusal,
    authorize,
    authorize_many,
    claim_first_issuances,
    first_issuance_refusal,
    issuance_secret_refusal,
    issue_not_allowed,
    session_refusal,
)
from server.issuance.pairs import IssueRequest, IssueResult, PairMaker, notify_issued, read_csr
from server.mail import Outbox
from server.security import audit, audit_entry, audit_many, token_hash, utcnow

log = logging.getLogger(__name__)

ISSUE_BATCH = 32  # first issuances made in one transaction at most
# Two issuing threads per worker: one makes its batch while the other's transaction waits for the commit
# (one thread left ~9 % of the cores idle in benchmarks/issuance.py, two ~3 %).
ISSUE_THREADS = 2

Outcome = Union[IssueResult, BaseException]


@dataclass(frozen=True)
class _Chosen:
    """A request of a batch that is plainly a first issuance."""

    index: int  # in the batch
    request: IssueRequest
    holder: Holder
    sign_public: SM2PublicKey
    grant: str  # what opened issuance to the session, spent with it
    token_hash: str


class _ClaimLost(Exception):
    """A concurrent request (another process, on SQLite) claimed an account of the batch first."""


class Issuance:
    def __init__(self, db: Database, pairs: PairMaker, outbox: Outbox) -> None:
        self.db = db
        self.pairs = pairs
        self.outbox = outbox
        self._batcher: Batcher[IssueRequest, IssueResult] = Batcher(
            self.issue_batch, ISSUE_BATCH, "certassist-issue", threads=ISSUE_THREADS
        )

    def issue_later(
        self,
        token: str,
        csr_der: bytes,
        admin_credential: Optional[str],
        client: Optional[str] = None,
        admin_credential_of: Optional[str] = None,
    ) -> Future[IssueResult]:
        """证书签发 on an issuing thread: first issuances that arrive together share one transaction."""
        return self._batcher.submit(IssueRequest(token, csr_der, admin_credential, client, admin_credential_of))

    def issue(
        self,
        token: str,
        csr_der: bytes,
        admin_credential: Optional[str],
        client: Optional[str] = None,
        admin_credential_of: Optional[str] = None,
    ) -> IssueResult:
        """证书签发; waits for the answer (see ``issue_later``)."""
        return self.issue_later(token, csr_der, admin_credential, client, admin_credential_of).result()

    def close(self) -> None:
        """Answer the issuances under way, then stop the issuing threads."""
        self._batcher.close()

    # -- a batch ---------------------------------------------------------------------------
    def issue_batch(self, requests: Sequence[IssueRequest]) -> List[Outcome]:
        """One outcome per request: its pair, or the refusal to raise for it."""
        together = self.issue_together(requests)
        outcomes: List[Outcome] = []
        for index, request in enumerate(requests):
            made = together.get(index)
            outcomes.append(made if made is not None else self._answer_alone(request))
        return outcomes

    def issue_together(self, requests: Sequence[IssueRequest]) -> Dict[int, IssueResult]:
        """Issue in one transaction to every request that is plainly a first issuance; the pairs by request
        index. Nothing is kept of a transaction that fails (then no pair is returned)."""
        try:
            with self.db.session() as session:
                return self._issue_first_pairs(session, requests)
        except Exception as exc:  # each request is then answered alone
            log.info("a batch of %d issuances is retried one by one: %r", len(requests), exc)
            return {}

    def _issue_first_pairs(self, session: Session, requests: Sequence[IssueRequest]) -> Dict[int, IssueResult]:
        chosen = self._choose_first_issuances(session, requests)
        if not chosen:
            return {}
        pairs = [
            self.pairs.make(session, c.holder, c.sign_public, self.pairs.escrow_secret(session, c.holder, c.request))
            for c in chosen
        ]
        self.pairs.store(session, pairs)
        if claim_first_issuances(session, [c.holder.id for c in chosen]) != len(chosen):
            raise _ClaimLost()
        if not spend_grants(session, [c.grant for c in chosen], [c.token_hash for c in chosen]):
            raise _ClaimLost()
        audit_many(
            session,
            [
                audit_entry("certificate_issued", c.holder.id, pair.result.sign_serial, client=c.request.client)
                for c, pair in zip(chosen, pairs)
            ],
        )
        for c, pair in zip(chosen, pairs):
            notify_issued(self.outbox, session, c.holder, pair.result)
        return {c.index: pair.result for c, pair in zip(chosen, pairs)}

    @staticmethod
    def _choose_first_issuances(session: Session, requests: Sequence[IssueRequest]) -> List[_Chosen]:
        """The requests a lone request would pass every rule of, each with a valid CSR, at most one per account
        (a second request for an account goes alone, where it is a retry or refused)."""
        hashes = [token_hash(request.token) for request in requests]
        found = authorize_many(session, hashes)
        now = utcnow()
        chosen: List[_Chosen] = []
        accounts: set[int] = set()
        for index, (request, hashed) in enumerate(zip(requests, hashes)):
            candidate = found.get(hashed)
            if (
                candidate is None
                or session_refusal(candidate, now) is not None
                or account_login_refusal(candidate) is not None
                or first_issuance_refusal(candidate.holder) is not None
                or candidate.issuance_grant is None
                or candidate.holder.id in accounts
            ):
                continue
            try:
                sign_public = read_csr(request.csr_der)
            except ServiceError:
                continue
            accounts.add(candidate.holder.id)
            grant = candidate.issuance_grant
            chosen.append(_Chosen(index, request, candidate.holder, sign_public, grant, candidate.token_hash))
        return chosen

    # -- one request -----------------------------------------------------------------------
    def _answer_alone(self, request: IssueRequest) -> Outcome:
        try:
            return self.issue_alone(request)
        except Exception as exc:  # the request's own answer (a ServiceError is a refusal)
            return exc

    def issue_alone(self, request: IssueRequest) -> IssueResult:
        """One request in its own transaction, with the answer it gets whatever else is under way."""
        with self.db.session() as session:
            found = authorize(session, request.token)
            refusal = account_login_refusal(found)
            if refusal is not None:
                raise refusal
            holder = found.holder
            sign_public = read_csr(request.csr_der)  # proof of possession
            refusal = first_issuance_refusal(holder) or issuance_secret_refusal(found)
            if refusal is not None:  # only a refused request may be a retry: a first issuance has no pair yet
                return self.pairs.resend_or_refuse(session, holder, sign_public, request, refusal)
            result = self.pairs.issue(session, holder, sign_public, self.pairs.escrow_secret(session, holder, request))
            if not claim_first_issuances(session, [holder.id]):
                return self.pairs.came_second(session, holder, sign_public, request, issue_not_allowed())
            assert found.issuance_grant is not None
            if not spend_grants(session, [found.issuance_grant], [found.token_hash]):
                return self.pairs.came_second(session, holder, sign_public, request, issuance_secret_required())
            audit(session, "certificate_issued", holder.id, result.sign_serial, client=request.client)
            notify_issued(self.outbox, session, holder, result)
        return result
