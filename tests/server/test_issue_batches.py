"""First issuances that arrive together share one transaction; every request still gets its own answer."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, cast

import pytest
from sqlalchemy import create_engine, func, select, update

from gm.sm2 import SM2PrivateKey
from gm.x509 import Certificate
from server import models
from server.batcher import Batcher
from server.errors import ServiceError
from server.issuance.first import Issuance
from server.issuance.pairs import IssueRequest, IssueResult, NewPair, PairMaker
from tests.server.conftest import Server, account_login, certificate_login, csr_for, issuing_login, new_user, unb64

ADMIN = "escrowed-admin-secret-0123456789abcdef"


# -- the batcher ---------------------------------------------------------------------------------------
def test_requests_that_arrive_during_a_batch_form_the_next_one() -> None:
    started, release = threading.Event(), threading.Event()
    batches: List[List[int]] = []

    def handle(items: Sequence[int]) -> List[Any]:
        batches.append(list(items))
        started.set()
        release.wait(10)
        return [item * 10 if item != 3 else ValueError("three") for item in items]

    batcher: Batcher[int, int] = Batcher(handle, max_batch=4, name="test-batcher")
    first = batcher.submit(1)
    assert started.wait(10)
    later = [batcher.submit(item) for item in range(2, 8)]  # queued while the first batch runs
    release.set()
    assert first.result(10) == 10
    assert [f.result(10) for f in later if f is not later[1]] == [20, 40, 50, 60, 70]
    with pytest.raises(ValueError, match="three"):
        later[1].result(10)
    assert batches == [[1], [2, 3, 4, 5], [6, 7]]  # nothing waited for a batch to fill; at most max_batch
    batcher.close()


def test_a_failing_batch_answers_every_request_and_the_batcher_goes_on() -> None:
    def handle(items: Sequence[str]) -> List[Any]:
        if "boom" in items:
            raise RuntimeError("database gone")
        return [item.upper() for item in items]

    batcher: Batcher[str, str] = Batcher(handle, max_batch=8, name="test-batcher")
    with pytest.raises(RuntimeError, match="database gone"):
        batcher.submit("boom").result(10)
    assert batcher.submit("ok").result(10) == "OK"
    queued = [batcher.submit(word) for word in ("a", "b")]
    batcher.close()  # finishes what was submitted
    assert [f.result(0) for f in queued] == ["A", "B"]
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit("late")


def test_batches_run_on_as_many_threads_as_asked() -> None:
    both_running = threading.Barrier(2, timeout=10)

    def handle(items: Sequence[int]) -> List[Any]:
        both_running.wait()  # returns only when two batches are being handled at once
        return list(items)

    batcher: Batcher[int, int] = Batcher(handle, max_batch=1, name="test-batcher", threads=2)
    assert [f.result(10) for f in [batcher.submit(1), batcher.submit(2)]] == [1, 2]
    batcher.close()
    assert all(not thread.is_alive() for thread in threading.enumerate() if thread.name.startswith("test-batcher"))


def test_a_request_cancelled_while_queued_is_not_handled() -> None:
    started, release = threading.Event(), threading.Event()
    handled: List[int] = []

    def handle(items: Sequence[int]) -> List[Any]:
        handled.extend(items)
        started.set()
        release.wait(10)
        return list(items)

    batcher: Batcher[int, int] = Batcher(handle, max_batch=8, name="test-batcher")
    first = batcher.submit(1)
    assert started.wait(10)
    given_up, kept = batcher.submit(2), batcher.submit(3)
    assert given_up.cancel()
    release.set()
    assert first.result(10) == 1 and kept.result(10) == 3
    assert handled == [1, 3] and given_up.cancelled()
    assert not first.cancel()  # answered: too late to cancel
    batcher.close()


# -- issuance batches ----------------------------------------------------------------------------------
def _request(token: str, key: SM2PrivateKey, csr: str = "") -> IssueRequest:
    return IssueRequest(token, unb64(csr or csr_for(key)), ADMIN, "127.0.0.1")


def _error(outcome: Any) -> str:
    assert isinstance(outcome, ServiceError), outcome
    return outcome.code


@dataclass
class MixedBatch:
    """Two plain first issuances (alice, bob) and six requests that are not: alice again in the same batch (a
    retry), carol who holds a pair, an unknown session, a CSR that is not one, carol's certificate session,
    erin's account login that no issuance code opened (issue 13.3)."""

    requests: List[IssueRequest]
    keys: Dict[str, SM2PrivateKey]
    users: Dict[str, Dict[str, str]]


def mixed_batch(server: Server) -> MixedBatch:
    issuance = server.service.issuance
    users = {name: new_user(server) for name in ("alice", "bob", "carol", "dave", "erin")}
    keys = {name: SM2PrivateKey.generate() for name in ("alice", "bob", "carol")}
    carol_token = issuing_login(server, users["carol"])
    carol_pair = issuance.issue(carol_token, unb64(csr_for(keys["carol"])), ADMIN)
    carol_cert_token = certificate_login(server, keys["carol"], carol_pair.sign_certificate)
    alice_token, bob_token, dave_token = (issuing_login(server, users[name]) for name in ("alice", "bob", "dave"))
    requests = [
        _request(alice_token, keys["alice"]),
        _request(bob_token, keys["bob"]),
        _request(alice_token, keys["alice"]),
        _request(carol_token, SM2PrivateKey.generate()),
        _request("not-a-session", SM2PrivateKey.generate()),
        _request(dave_token, SM2PrivateKey.generate(), csr="bm90IGEgQ1NS"),
        _request(carol_cert_token, SM2PrivateKey.generate()),
        _request(account_login(server, users["erin"]), SM2PrivateKey.generate()),
    ]
    return MixedBatch(requests, keys, users)


def count(server: Server, query: Any) -> Any:
    with server.service.db.session() as session:
        return session.scalar(query)


ISSUED_EVENTS = (
    select(func.count()).select_from(models.AuditEvent).where(models.AuditEvent.event == "certificate_issued")
)


def test_a_batch_answers_every_request_as_it_would_be_answered_alone(server: Server) -> None:
    batch = mixed_batch(server)

    outcomes = server.service.issuance.issue_batch(batch.requests)

    alice_pair, bob_pair, alice_again = outcomes[:3]
    assert isinstance(alice_pair, IssueResult) and isinstance(bob_pair, IssueResult)
    assert isinstance(alice_again, IssueResult) and alice_again.sign_certificate == alice_pair.sign_certificate
    for pair, name in ((alice_pair, "alice"), (bob_pair, "bob")):
        cert = Certificate.from_der(pair.sign_certificate)
        assert cert.public_key == batch.keys[name].public_key
        assert cert.common_name == batch.users[name]["applicant_name"]
        server.smtp.inbox.wait_for(batch.users[name]["email"], "签发成功")
    assert [_error(o) for o in outcomes[3:]] == [
        "issue_not_allowed",
        "session_invalid",
        "csr_invalid",
        "account_login_required",
        "issuance_secret_required",
    ]
    with server.service.db.session() as session:
        by_account = dict(
            session.execute(
                select(models.Certificate.account_id, func.count()).group_by(models.Certificate.account_id)
            ).all()
        )
        admins = session.scalar(select(func.count()).select_from(models.AdminCredential))
    assert sorted(by_account.values()) == [2, 2, 2] and count(server, ISSUED_EVENTS) == 3 and admins == 3


def test_only_plain_first_issuances_are_made_together(server: Server) -> None:
    """The shared transaction takes alice's and bob's first requests; the others are left to be answered alone."""
    batch = mixed_batch(server)

    together = server.service.issuance.issue_together(batch.requests)

    assert sorted(together) == [0, 1]
    for index, name in ((0, "alice"), (1, "bob")):
        assert Certificate.from_der(together[index].sign_certificate).public_key == batch.keys[name].public_key
    assert count(server, select(func.count()).select_from(models.Certificate)) == 6  # carol's pair, then these
    assert count(server, ISSUED_EVENTS) == 3


class ClaimedMeanwhile:
    """The service's pair maker; while it makes the batch's first pair, "another worker" (another connection
    that commits at once) uses ``username``'s right to issue."""

    def __init__(self, pairs: PairMaker, url: str, username: str) -> None:
        self.pairs, self.username, self.done = pairs, username, False
        self.other_process = create_engine(url)

    def make(self, *args: Any, **kwargs: Any) -> NewPair:
        if not self.done:
            self.done = True
            with self.other_process.begin() as connection:
                connection.execute(
                    update(models.Account).where(models.Account.username == self.username).values(may_issue=False)
                )
            self.other_process.dispose()
        return self.pairs.make(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pairs, name)


# PostgreSQL locks the accounts of a batch: no other process can claim one meanwhile.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_batch_whose_claim_another_process_won_is_retried_one_by_one(server: Server) -> None:
    """SQLite takes no row lock on read: another worker may issue to an account of the batch meanwhile."""
    svc = server.service
    erin, frank = new_user(server), new_user(server)
    erin_token, frank_token = issuing_login(server, erin), issuing_login(server, frank)
    meanwhile = ClaimedMeanwhile(svc.issuance.pairs, svc.db.url, erin["username"])
    issuance = Issuance(svc.db, cast(PairMaker, meanwhile), svc.issuance.outbox)
    frank_key = SM2PrivateKey.generate()
    requests = [_request(erin_token, SM2PrivateKey.generate()), _request(frank_token, frank_key)]

    outcomes = issuance.issue_batch(requests)

    assert meanwhile.done
    assert _error(outcomes[0]) == "issue_not_allowed"
    assert isinstance(outcomes[1], IssueResult)
    assert Certificate.from_der(outcomes[1].sign_certificate).public_key == frank_key.public_key
    with svc.db.session() as session:  # nothing of the abandoned batch was kept
        assert session.scalar(select(func.count()).select_from(models.Certificate)) == 2
        assert session.scalar(select(func.count()).select_from(models.EscrowedKey)) == 1


def test_close_answers_the_issuances_under_way(server: Server) -> None:
    svc = server.service
    users = [new_user(server) for _ in range(3)]
    futures = [
        svc.issuance.issue_later(issuing_login(server, user), unb64(csr_for(SM2PrivateKey.generate())), None)
        for user in users
    ]
    svc.close()
    assert all(isinstance(f.result(0), IssueResult) for f in futures)
