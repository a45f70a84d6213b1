"""The outbox across processes (issue 13.14): a worker killed with SIGKILL between the commit of an event and the
send of its mail loses nothing; another worker delivers the mail, once. Real processes, real SMTP (aiosmtpd)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from server import models
from server.app import build_service
from server.config import ServerConfig
from server.domain import MailStatus
from tests.peers import SmtpServer
from tests.server.services import ServiceProcess, SmtpRelay, issuance_benchmark, pid_connected_to

pytestmark = pytest.mark.integration

CLAIM_S = 6.0


def test_a_worker_killed_between_commit_and_send_loses_no_mail(tmp_path: Path, smtp: SmtpServer) -> None:
    data = tmp_path / "data"
    config = ServerConfig(data_dir=data)
    [(token, csr)] = issuance_benchmark().prepare(config, 1)  # an account that may issue, with a session
    relay = SmtpRelay(smtp.port)
    relay.holding.set()  # the SMTP server "hangs": the worker that sends the mail waits for its greeting
    service = ServiceProcess(
        data,
        *("--mail", "smtp", "--smtp-port", str(relay.port), "--mail-claim-timeout", str(CLAIM_S)),
    ).start("--workers", "2")
    try:
        workers = service.children()
        issued = httpx.post(
            f"{service.url}/api/v1/certificates/issue",
            json={"csr": csr},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert issued.status_code == 200, issued.text  # committed: the certificate and its mail
        assert relay.held.wait(10), "no worker started sending the mail"
        sender = pid_connected_to(relay.port, workers)
        assert sender is not None
        os.kill(sender, signal.SIGKILL)  # between the commit and the send
        relay.holding.clear()  # SMTP works again
        message = smtp.inbox.wait_for("load0@example.com", "数字证书签发成功", timeout=CLAIM_S + 30)
        time.sleep(CLAIM_S + 4)  # long enough for a second delivery, if there were one
        copies = [m for m in smtp.inbox.messages if m["Message-ID"] == message["Message-ID"]]
        assert len(copies) == 1
        assert httpx.get(f"{service.url}/health", timeout=10).status_code == 200  # uvicorn replaced the worker
    finally:
        service.stop()
        relay.close()
    svc = build_service(config)
    with svc.db.session() as session:
        [row] = session.scalars(select(models.MailMessage))
        assert row.status == MailStatus.SENT and row.attempts == 0  # the killed attempt left no trace
    svc.db.engine.dispose()
    assert json.loads(issued.text)["sign_certificate"]
