"""Two service instances on one PostgreSQL, as two hosts behind a load balancer (issue 13.15): issuances spread
over both while one is killed with SIGKILL and restarted. Nothing is lost or doubled: every account has exactly
one pair, every encryption key is escrowed, every issuance mail reaches the SMTP server (aiosmtpd) exactly once.

The hosts share the database and the master key and nothing else (each its own data dir). Clients retry a
request that failed on one host on the other, as a load balancer or the tray does; a retry with the same key
gets the same pair. The killed host's SMTP is made to hang first, so that the mails it has claimed are between
commit and send when it dies: the other host delivers them once their claims run out.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import httpx
import pytest
from sqlalchemy import func, select

from gm.x509 import Certificate
from server import models
from server.app import build_service
from server.config import ServerConfig
from server.domain import CertificateUsage, CertStatus
from tests.peers import SmtpServer
from tests.server.services import PostgresCluster, ServiceProcess, SmtpRelay, issuance_benchmark

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ACCOUNTS = 160
CLIENTS = 8
CLAIM_S = 6.0
SUBJECT = "数字证书签发成功"


def issue_with_failover(hosts: List[ServiceProcess], first: int, token: str, csr: str) -> Tuple[Dict[str, Any], int]:
    """POST the issuance to ``hosts[first]``, on any failure to the other host, until one answers 200."""
    last = ""
    for attempt in range(12):
        host = hosts[(first + attempt) % len(hosts)]
        try:
            response = httpx.post(
                f"{host.url}/api/v1/certificates/issue",
                json={"csr": csr},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
        except httpx.HTTPError as exc:
            last = repr(exc)
        else:
            if response.status_code == 200:
                return response.json(), attempt
            last = f"{response.status_code} {response.text[:200]}"
            assert response.status_code >= 500, last  # a host going away, never a refusal
        time.sleep(0.3)
    raise AssertionError(f"no host issued: {last}")


def test_two_hosts_one_killed_and_restarted(
    tmp_path: Path, postgres: PostgresCluster, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = postgres.new_database(f"hosts_{secrets.token_hex(4)}")
    master = secrets.token_hex(16)
    monkeypatch.setenv("CERTASSIST_SERVER_MASTER_KEY", master)  # what both hosts share, besides the database
    jobs = issuance_benchmark().prepare(ServerConfig(data_dir=tmp_path / "setup", database_url=database), ACCOUNTS)
    relay = SmtpRelay(smtp.port)  # host A's way to the SMTP server
    common = ("--database-url", database, "--mail", "smtp", "--mail-claim-timeout", str(CLAIM_S))
    env = {"CERTASSIST_SERVER_MASTER_KEY": master}
    host_a = ServiceProcess(tmp_path / "a", *common, "--smtp-port", str(relay.port), env=env)
    host_b = ServiceProcess(tmp_path / "b", *common, "--smtp-port", str(smtp.port), env=env)
    before = len(smtp.inbox.messages)  # the SMTP server is the session's: count what arrives from now on
    hosts = [host_a.start(), host_b.start()]
    done: List[int] = []
    killed = threading.Event()

    def chaos() -> None:
        """After a third of the issuances: host A's SMTP hangs, A dies, and comes back."""
        while len(done) < ACCOUNTS // 3:
            time.sleep(0.05)
        relay.holding.set()
        time.sleep(1.5)  # A's sends in flight finish; the next ones wait for a greeting that never comes
        assert host_a.process is not None
        os.kill(host_a.process.pid, signal.SIGKILL)
        host_a.process.wait()
        killed.set()
        time.sleep(2)
        relay.holding.clear()
        host_a.start()

    def one(index: int) -> Tuple[Dict[str, Any], int]:
        token, csr = jobs[index]
        answer = issue_with_failover(hosts, index % 2, token, csr)
        done.append(index)
        return answer

    started = time.monotonic()
    chaos_thread = threading.Thread(target=chaos)
    chaos_thread.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(one, range(ACCOUNTS)))
        chaos_thread.join(120)
        assert killed.is_set()
        wait_for_mails(smtp, before, {f"load{i}@example.com" for i in range(ACCOUNTS)}, timeout=CLAIM_S + 60)
        time.sleep(CLAIM_S + 4)  # long enough for a mail to be sent twice, if it could be
        mails = issuance_mails(smtp, before)
    finally:
        chaos_thread.join(120)
        for host in hosts:
            host.stop()
        relay.close()
    elapsed = time.monotonic() - started
    retried = sum(1 for _body, attempts in answers if attempts)
    print(f"{ACCOUNTS} issuances on two hosts in {elapsed:.0f} s, {retried} retried on the other host")

    # Mail: one per issuance, none twice (counted by the SMTP server).
    recipients = [str(message["To"]) for message in mails]
    assert sorted(recipients) == sorted(f"load{i}@example.com" for i in range(ACCOUNTS))
    assert len({message["Message-ID"] for message in mails}) == ACCOUNTS

    # Certificates: every answer stored, no account with two pairs, every encryption key escrowed.
    returned = {
        f"{Certificate.from_der(base64.b64decode(body[field])).serial_number:X}"
        for body, _attempts in answers
        for field in ("sign_certificate", "encryption_certificate")
    }
    assert len(returned) == 2 * ACCOUNTS
    svc = build_service(ServerConfig(data_dir=tmp_path / "setup", database_url=database))
    with svc.db.session() as session:
        stored = list(session.scalars(select(models.Certificate)))
        escrowed = set(session.scalars(select(models.EscrowedKey.certificate_serial)))
        pairs_per_account = session.execute(
            select(models.Certificate.account_id, func.count())
            .where(models.Certificate.usage == CertificateUsage.SIGN, models.Certificate.status == CertStatus.VALID)
            .group_by(models.Certificate.account_id)
        ).all()
        pending = session.scalar(select(func.count()).select_from(models.MailMessage).where(
            models.MailMessage.sent_at.is_(None)))  # fmt: skip
    svc.db.engine.dispose()
    assert {row.serial for row in stored} == returned and len(stored) == 2 * ACCOUNTS
    assert escrowed == {row.serial for row in stored if row.usage == CertificateUsage.ENCRYPT}
    assert len(pairs_per_account) == ACCOUNTS and {count for _account, count in pairs_per_account} == {1}
    assert pending == 0


def issuance_mails(smtp: SmtpServer, before: int) -> List[Any]:
    return [message for message in smtp.inbox.messages[before:] if SUBJECT in str(message["Subject"])]


def wait_for_mails(smtp: SmtpServer, before: int, recipients: set[str], timeout: float) -> List[Any]:
    deadline = time.monotonic() + timeout
    found: Optional[List[Any]] = None
    while time.monotonic() < deadline:
        found = issuance_mails(smtp, before)
        if {str(message["To"]) for message in found} >= recipients:
            return found
        time.sleep(0.5)
    missing = recipients - {str(message["To"]) for message in found or []}
    raise AssertionError(f"{len(missing)} issuance mails never arrived, e.g. {sorted(missing)[:3]}")
