"""证书解锁 on a USB key (issue 15, item 3): the admin PIN a hard-key issuance installs is escrowed at the service, the
mailed code releases it for SKF_UnblockPIN, and a fresh one replaces it; through the real soft SKF library and the
real service. The crash windows: a lost answer, a key pulled out before or after the admin PIN changed, a failed
escrow after 证书解锁; each resumes and the service ends up with the admin PIN the key has."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Dict, Optional, Tuple

import pytest

from app import entries, flows
from app.api_client import ApiError, IssuingClient, ServiceUnavailable
from app.escrow import AdminJournal, device_key
from drivers.errors import DeviceRemoved, PinIncorrect, PinLocked
from drivers.profiles import ProfileSet
from drivers.registry import user_profiles_dir
from drivers.skf import SkfBackend
from drivers.skf.api import ADMIN_TYPE
from drivers.skf.driver import SkfDevice
from tests.server.conftest import PUBLIC_URL, Server, ServerFactory, new_user
from tests.server.test_app_flows import FlakyHttp, client_for, logged_in
from tests.softskf import ADMIN_PIN, ADMIN_TRIES, USER_PIN, KeyPuller, SoftSkf

pytestmark = pytest.mark.integration
NEW_PIN = "24681357"


@pytest.fixture()
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'server.db'}"


@pytest.fixture()
def server(make_server: ServerFactory) -> Server:
    return make_server(validity_days=20)  # inside the renewal window


def the_key(softskf: SoftSkf, profiles: Optional[ProfileSet] = None) -> SkfDevice:
    [device] = SkfBackend([str(softskf.library)], profiles).devices()
    assert isinstance(device, SkfDevice)
    return device


def the_entry(softskf: SoftSkf) -> entries.CertificateEntry:
    [entry], problems = entries.list_certificates([the_key(softskf)])
    assert problems == []
    return entry


def escrowed(server: Server, serial: str) -> Optional[str]:
    """The admin credential the service keeps with a pair (read from its database, as its operator could)."""
    register = server.service.unlock.register
    with server.service.db.session() as session:
        stored = register.admin_credential(session, serial)
        return None if stored is None else register.open_admin_credential(stored)


def key_accepts_admin(device: SkfDevice, admin: str) -> bool:
    """Whether ``admin`` is the key's admin PIN (a change to itself; a wrong one spends one admin try)."""
    with device.open() as session:
        try:
            session.rotate_admin_credential(admin, admin)
        except PinIncorrect:
            return False
    return True


def admin_tries(device: SkfDevice) -> Optional[int]:
    with device.open() as session:
        return session.pin_info(admin=True).remaining


def lock(device: SkfDevice) -> None:
    with device.open() as session:
        for _ in range(10):
            try:
                session.login("00000000")
            except PinIncorrect:
                continue
            except PinLocked:
                return
    raise AssertionError("the PIN did not lock")


def mailed_code(server: Server, email: str, before: int) -> str:
    """The unlock code of the first mail to ``email`` after the first ``before`` messages of the inbox."""
    inbox = server.smtp.inbox
    deadline = time.monotonic() + 10
    while True:
        for message in inbox.messages[before:]:
            match = re.search(r"解锁码：(\d{8})", inbox.body(message))
            if message["To"] == email and match:
                return match.group(1)
        assert time.monotonic() < deadline, "no unlock code arrived"
        time.sleep(0.02)


def request_code(server: Server, client: IssuingClient, entry: entries.CertificateEntry, email: str) -> Tuple[str, str]:
    """证书解锁 step 1 and the code it mailed: (unlock id, code)."""
    before = len(server.smtp.inbox.messages)
    ticket = flows.unlock_request(client, entry)
    return ticket.unlock_id, mailed_code(server, email, before)


def unlock(server: Server, entry: entries.CertificateEntry, user: Dict[str, str], new_pin: str) -> flows.Unlocked:
    client = client_for(server)
    unlock_id, code = request_code(server, client, entry, user["email"])
    return flows.unlock_complete(client, entry, unlock_id, code, new_pin, new_pin)


def journal_of(device: SkfDevice) -> Dict[str, object]:
    return json.loads(AdminJournal().get(device_key(device.info)).to_text())


# -- the whole cycle -----------------------------------------------------------------------------


def test_unlock_by_mailed_code_then_a_fresh_admin_pin_is_escrowed(server: Server, softskf: SoftSkf) -> None:
    user = new_user(server)
    device = the_key(softskf)
    pair = flows.issue_hard(logged_in(server, user), device, user["username"], USER_PIN)
    serial = f"{pair.sign.serial_number:X}"
    first = escrowed(server, serial)
    assert pair.admin_escrowed and first is not None and first != ADMIN_PIN
    with device.open() as session:
        assert session.pin_is_default(admin=True) is False  # the vendor's admin1234 is gone from the key
    assert key_accepts_admin(device, first) and admin_tries(device) == ADMIN_TRIES
    assert journal_of(device)["pending"] is None and journal_of(device)["escrowed_under"] == serial

    entry = the_entry(softskf)
    seen = [first]
    for new_pin in (NEW_PIN, "97531246"):  # the second unlock needs the admin PIN the first one escrowed
        lock(entry.device)
        assert unlock(server, entry, user, new_pin) == flows.Unlocked(escrowed=True)
        with entry.device.open() as session:
            session.login(new_pin)
            assert session.pin_info().remaining == 10
        now = escrowed(server, serial)
        assert now is not None and now not in seen  # replaced after the code released the old one
        assert key_accepts_admin(entry.device, now)
        seen.append(now)
        assert journal_of(entry.device)["pending"] is None and journal_of(entry.device)["released"] is None
    assert admin_tries(entry.device) == ADMIN_TRIES  # no admin try was ever spent


def test_update_on_the_key_keeps_its_escrow(server: Server, softskf: SoftSkf) -> None:
    """The key's admin PIN does not change at 证书更新: the new pair keeps the escrow of the pair it replaces."""
    user = new_user(server)
    device = the_key(softskf)
    old = flows.issue_hard(logged_in(server, user), device, user["username"], USER_PIN)
    admin = escrowed(server, f"{old.sign.serial_number:X}")
    entry = the_entry(softskf)
    client = client_for(server)
    flows.certificate_login(client, entry, USER_PIN)
    new = flows.update(client, entry, user["username"], USER_PIN)
    assert new.admin_escrowed and escrowed(server, f"{new.sign.serial_number:X}") == admin
    renewed = the_entry(softskf)
    lock(renewed.device)
    assert unlock(server, renewed, user, NEW_PIN).escrowed


# -- keys issued elsewhere -------------------------------------------------------------------------


def test_a_key_whose_admin_pin_was_changed_elsewhere_is_never_asked(server: Server, softskf: SoftSkf) -> None:
    device = the_key(softskf)
    with device.open() as session:
        session.rotate_admin_credential(ADMIN_PIN, "Elsewhere2024")  # another tool's admin PIN
    user = new_user(server)
    pair = flows.issue_hard(logged_in(server, user), device, user["username"], USER_PIN)
    assert not pair.admin_escrowed and admin_tries(device) == ADMIN_TRIES  # not one try spent on a guess
    entry = the_entry(softskf)
    with pytest.raises(ApiError) as refused:  # the service says so instead of mailing a useless code
        flows.unlock_request(client_for(server), entry)
    assert refused.value.code == "no_admin_credential"


def test_an_escrowed_admin_pin_the_key_refuses_is_not_kept_for_a_retry(server: Server, softskf: SoftSkf) -> None:
    """The admin PIN was changed by another tool after it was escrowed: the released value costs one admin try and
    is then forgotten, so a retry with the spent code is refused by the service instead of trying it again."""
    user = new_user(server)
    device = the_key(softskf)
    pair = flows.issue_hard(logged_in(server, user), device, user["username"], USER_PIN)
    first = escrowed(server, f"{pair.sign.serial_number:X}")
    with device.open() as session:
        session.rotate_admin_credential(first, "Elsewhere2024")
    entry = the_entry(softskf)
    lock(entry.device)
    client = client_for(server)
    unlock_id, code = request_code(server, client, entry, user["email"])
    with pytest.raises(PinIncorrect) as refused:
        flows.unlock_complete(client, entry, unlock_id, code, NEW_PIN, NEW_PIN)
    assert refused.value.admin and admin_tries(device) == ADMIN_TRIES - 1
    assert journal_of(device)["released"] is None  # no copy of a value that will never work
    with pytest.raises(ApiError) as spent:
        flows.unlock_complete(client, entry, unlock_id, code, NEW_PIN, NEW_PIN)
    assert spent.value.code == flows.UNLOCK_CODE_USED and admin_tries(device) == ADMIN_TRIES - 1


def test_a_wrong_vendor_default_is_tried_once_ever(server: Server, softskf: SoftSkf) -> None:
    """A profile whose documented default is wrong for this key: one admin try, remembered, never again."""
    user_profiles_dir().mkdir(parents=True)
    profile = {"id": "softskf", "vendor": "SoftSKF", "match": {"manufacturer": ["CertAssist SoftSKF"]}, "sm2": None,
               "skf": {"libraries": {}, "application": "SOFTSKF", "admin_pin_default": "wrongadmin1",
                       "ecc_decrypt": "with_sign_flag"}}  # fmt: skip
    (user_profiles_dir() / "softskf.json").write_text(json.dumps({"profiles": [profile]}))
    profiles = ProfileSet.load(user_profiles_dir())
    device = the_key(softskf, profiles)
    user = new_user(server)
    pair = flows.issue_hard(logged_in(server, user), device, user["username"], USER_PIN)
    assert not pair.admin_escrowed and admin_tries(device) == ADMIN_TRIES - 1
    assert journal_of(device)["default_refused"] is True
    [entry], _ = entries.list_certificates([the_key(softskf, profiles)])
    client = client_for(server)
    flows.certificate_login(client, entry, USER_PIN)
    flows.update(client, entry, user["username"], USER_PIN)
    assert admin_tries(device) == ADMIN_TRIES - 1  # not asked again


# -- crash windows ---------------------------------------------------------------------------------


@pytest.mark.parametrize("after", [False, True], ids=["request-lost", "answer-lost"])
def test_admin_pin_changed_but_the_request_failed(server: Server, softskf: SoftSkf, after: bool) -> None:
    """The key has the new admin PIN and only the journal knows it; the retry sends it, the service keeps it."""
    user = new_user(server)
    device = the_key(softskf)
    token = logged_in(server, user).token
    flaky = IssuingClient(PUBLIC_URL, http=FlakyHttp(server.client, "/api/v1/certificates/issue", after))
    flaky.token = token
    with pytest.raises(ServiceUnavailable):
        flows.issue_hard(flaky, device, user["username"], USER_PIN)
    pending = journal_of(device)["pending"]
    assert isinstance(pending, str) and journal_of(device)["changed"] is True
    assert key_accepts_admin(device, pending)
    pair = flows.issue_hard(flaky, device, user["username"], USER_PIN)  # the same key pair, the same admin PIN
    assert escrowed(server, f"{pair.sign.serial_number:X}") == pending
    assert journal_of(device)["pending"] is None
    assert admin_tries(device) == ADMIN_TRIES


@pytest.mark.parametrize("after", [False, True], ids=["before-the-change", "after-the-change"])
def test_key_pulled_out_at_the_admin_pin_change(
    server: Server, softskf: SoftSkf, monkeypatch: pytest.MonkeyPatch, after: bool
) -> None:
    """Pulled out just before SKF_ChangePIN of the admin PIN (the key keeps its default; the journal says
    "changing") or just after it (the change is known, the request never left): the retry finishes either way,
    without spending an admin try. A process killed between the change and its record: test_skf_escrow_crash.py."""
    user = new_user(server)
    device = the_key(softskf)
    client = logged_in(server, user)
    puller = KeyPuller(softskf, monkeypatch)
    puller.at(device.library, "SKF_ChangePIN", when=lambda args: args[1] == ADMIN_TYPE, after=after)
    with pytest.raises(DeviceRemoved):
        flows.issue_hard(client, device, user["username"], USER_PIN)
    assert puller.pulled == 1 and journal_of(device)["changed"] is after
    pending = journal_of(device)["pending"]
    puller.reinsert()
    with device.open() as session:
        assert session.pin_is_default(admin=True) is not after
    pair = flows.issue_hard(client, device, user["username"], USER_PIN)
    assert escrowed(server, f"{pair.sign.serial_number:X}") == pending
    assert key_accepts_admin(device, str(pending)) and admin_tries(device) == ADMIN_TRIES


def test_key_pulled_out_during_unlock_resumes_without_a_new_code(
    server: Server, softskf: SoftSkf, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = new_user(server)
    device = the_key(softskf)
    pair = flows.issue_hard(logged_in(server, user), device, user["username"], USER_PIN)
    entry = the_entry(softskf)
    lock(entry.device)
    client = client_for(server)
    unlock_id, code = request_code(server, client, entry, user["email"])
    puller = KeyPuller(softskf, monkeypatch)
    puller.at(device.library, "SKF_UnblockPIN")
    with pytest.raises(DeviceRemoved):
        flows.unlock_complete(client, entry, unlock_id, code, NEW_PIN, NEW_PIN)
    puller.reinsert()
    # the code is spent at the service; the value it released waits in the journal for this retry
    assert flows.unlock_complete(client, entry, unlock_id, code, NEW_PIN, NEW_PIN).escrowed
    now = escrowed(server, f"{pair.sign.serial_number:X}")
    assert now is not None and key_accepts_admin(device, now)
    assert journal_of(device)["released"] is None and journal_of(device)["pending"] is None


@pytest.mark.parametrize("where", ["pulled-at-rotation", "escrow-refused"])
def test_unlocked_but_the_new_admin_pin_is_escrowed_at_the_next_login(
    server: Server, softskf: SoftSkf, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """After SKF_UnblockPIN the PIN is unlocked whatever happens next; a new admin PIN the service did not confirm
    stays in the journal and the next 证书登录 escrows it."""
    user = new_user(server)
    device = the_key(softskf)
    pair = flows.issue_hard(logged_in(server, user), device, user["username"], USER_PIN)
    serial = f"{pair.sign.serial_number:X}"
    before = escrowed(server, serial)
    entry = the_entry(softskf)
    lock(entry.device)
    http = FlakyHttp(server.client, "/api/v1/admin-credential", after=False)
    client = client_for(server, http)
    unlock_id, code = request_code(server, client, entry, user["email"])
    puller = KeyPuller(softskf, monkeypatch)
    if where == "pulled-at-rotation":
        puller.at(device.library, "SKF_ChangePIN", when=lambda args: args[1] == ADMIN_TYPE)
        http.tripped = True  # the network is fine here
    assert flows.unlock_complete(client, entry, unlock_id, code, NEW_PIN, NEW_PIN) == flows.Unlocked(False)
    if puller.pulled:
        puller.reinsert()
    pending = journal_of(device)["pending"]
    assert isinstance(pending, str) and escrowed(server, serial) == before
    with device.open() as session:
        session.login(NEW_PIN)  # unlocked all the same
    flows.certificate_login(client_for(server), entry, NEW_PIN)
    assert escrowed(server, serial) == pending and journal_of(device)["pending"] is None
    assert key_accepts_admin(device, pending) and admin_tries(device) == ADMIN_TRIES
