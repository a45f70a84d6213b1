"""A process killed (SIGKILL) the moment a USB key accepted its new admin PIN, before the program recorded the change
or sent anything: the journal holds the new value as "changing"; the next attempt learns from the key that the change
went through, escrows that value with the issuance, and 证书解锁 with the mailed code then unblocks the key with it.
Against the service in its own process, through the real soft SKF library."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from app import entries, flows
from app.api_client import IssuingClient
from app.escrow import AdminJournal, device_key
from drivers.errors import PinIncorrect, PinLocked
from drivers.skf import SkfBackend
from tests.gui.conftest import LiveService, start_service
from tests.gui.live_service import CAPTCHA
from tests.peers import SmtpServer
from tests.softskf import ADMIN_TRIES, USER_PIN, SoftSkf

pytestmark = pytest.mark.integration
WORKER = Path(__file__).with_name("skf_escrow_worker.py")
NEW_PIN = "24681357"


@pytest.fixture()
def live(tmp_path: Path, smtp: SmtpServer) -> Iterator[LiveService]:
    """The issuing service in its own process (the child reaches it over HTTP)."""
    service = start_service(tmp_path / "server", smtp)
    yield service
    service.stop()


def test_killed_right_after_the_admin_pin_changed(live: LiveService, softskf: SoftSkf) -> None:
    user = live.new_user("killed")
    child = subprocess.run(
        [sys.executable, str(WORKER), str(softskf.library), live.url, user["username"], user["applicant_name"],
         CAPTCHA, USER_PIN],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert child.returncode == -9 and child.stdout.strip() == "changed", child.stderr
    [device] = SkfBackend([str(softskf.library)]).devices()
    entry = AdminJournal().get(device_key(device.info))
    assert entry.pending is not None and not entry.changed and entry.previous is None  # the only copy
    with device.open() as session:
        assert session.pin_is_default(admin=True) is False  # the key did change

    client = IssuingClient(live.url)
    client.login_account(user["username"], user["applicant_name"], client.captcha().captcha_id, CAPTCHA)
    client.authorize_issuance(live.issuance_code(user["email"]))  # the approval mail's 签发码
    pair = flows.issue_hard(client, device, user["username"], USER_PIN)
    assert pair.admin_escrowed and AdminJournal().get(device_key(device.info)).pending is None

    [cert], _ = entries.list_certificates([device])
    with device.open() as session:
        for _ in range(10):
            try:
                session.login("00000000")
            except PinIncorrect:
                continue
            except PinLocked:
                break
        assert session.pin_info().locked
    unlocker = IssuingClient(live.url)
    ticket = flows.unlock_request(unlocker, cert)
    mail = live.smtp.inbox.wait_for(user["email"], "解锁码")  # the first unlock mail of this account
    code = re.search(r"解锁码：(\d{8})", live.smtp.inbox.body(mail))
    assert code is not None
    assert flows.unlock_complete(unlocker, cert, ticket.unlock_id, code.group(1), NEW_PIN, NEW_PIN).escrowed
    with device.open() as session:
        session.login(NEW_PIN)
        assert session.pin_info(admin=True).remaining == ADMIN_TRIES  # the escrowed value was the key's own
