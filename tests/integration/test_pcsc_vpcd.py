"""The PC/SC driver against a real pcscd with the vpcd virtual reader and our card emulator."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from app import entries, flows
from app.api_client import IssuingClient
from drivers.base import KeyDevice, KeySession, PinSession
from drivers.errors import DeviceRemoved, NotSupported, PinIncorrect, PinLocked, PinTooWeak
from drivers.model import Capability, DeviceKind
from drivers.pcsc import CardEvent, CardWatcher, PcscBackend, list_readers
from drivers.pcsc.monitor import CardEventKind
from drivers.profiles import ProfileSet
from tests.cardemu import ATR, PROFILE, PinApplet, VirtualCard

pytestmark = pytest.mark.integration

READER = "Virtual PCD 00 00"
READER_2 = "Virtual PCD 00 01"
PIN, PUK = "123456", "87654321"


@pytest.fixture()
def profiles(isolated_home: Path) -> ProfileSet:
    user_dir = Path(os.environ["CERTASSIST_HOME"]) / "profiles"
    user_dir.mkdir(parents=True, exist_ok=True)
    (user_dir / "virtual-card.json").write_text(json.dumps(PROFILE))
    return ProfileSet.load(user_dir)


def wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def card_present() -> bool:
    return any(s.name == READER and s.card_present for s in list_readers())


@pytest.fixture()
def card(pcscd: None) -> Iterator[VirtualCard]:
    virtual = VirtualCard(PinApplet(PIN, PUK))
    virtual.insert()
    try:
        wait_for(card_present)
        yield virtual
    finally:
        virtual.remove()
        wait_for(lambda: not card_present())  # as pcscd sees it, so the next insertion is a new event


def test_reader_atr_and_profile_match(card: VirtualCard, profiles: ProfileSet) -> None:
    states = {s.name: s for s in list_readers()}
    assert states[READER].card_present and states[READER].atr == ATR
    assert profiles.for_atr(ATR) is not None and profiles.for_atr(ATR).id == "certassist-virtual-card"  # type: ignore[union-attr]
    [device] = [d for d in PcscBackend(profiles).devices() if d.info.model == READER]
    assert device.info.kind is DeviceKind.HARD and device.info.label == "CertAssist virtual card"
    assert device.info.supports(Capability.PIN_RETRY_INFO) and device.info.supports(Capability.PIN_UNBLOCK)
    assert "certassist-virtual-card" in PcscBackend(profiles).status().detail


def test_unknown_card_is_listed_without_pin_capabilities(card: VirtualCard) -> None:
    [device] = [d for d in PcscBackend(ProfileSet.load()).devices() if d.info.model == READER]
    assert "no profile" in device.info.manufacturer and not device.info.capabilities
    with device.open() as session, pytest.raises(NotSupported):
        session.pin_info()


def test_retries_count_down_to_lock_and_puk_unblocks(card: VirtualCard, profiles: ProfileSet) -> None:
    [device] = [d for d in PcscBackend(profiles).devices() if d.info.model == READER]
    with device.open() as session:
        assert session.pin_info().remaining == 10
        for expected in range(9, 0, -1):
            with pytest.raises(PinIncorrect) as info:
                session.login("000000")
            assert info.value.retries_left == expected and info.value.raw_code == 0x63C0 | expected
        with pytest.raises(PinLocked) as locked:
            session.login("000000")
        assert locked.value.raw_code == 0x6983
        info_locked = session.pin_info()
        assert info_locked.locked and info_locked.remaining == 0
        with pytest.raises(PinLocked):
            session.login(PIN)
        with pytest.raises(PinIncorrect) as wrong_puk:
            session.unblock_pin("11111111", "739146")
        assert wrong_puk.value.admin and wrong_puk.value.retries_left == 9
        session.unblock_pin(PUK, "739146")
        assert session.pin_info().remaining == 10
        session.login("739146")
        assert session.logged_in


def test_change_pin_and_rotate_unblock_code(card: VirtualCard, profiles: ProfileSet) -> None:
    [device] = [d for d in PcscBackend(profiles).devices() if d.info.model == READER]
    with device.open() as session:
        with pytest.raises(PinTooWeak):  # refused before any command reaches the card
            session.change_pin(PIN, "abcdef")
        assert session.pin_info().remaining == 10
        session.change_pin(PIN, "k3v9x2")
        with pytest.raises(PinIncorrect):
            session.login(PIN)
        session.login("k3v9x2")
        new_puk = session.rotate_admin_credential(PUK)
        with pytest.raises(PinIncorrect):
            session.unblock_pin(PUK, "581937")
        session.unblock_pin(new_puk, "581937")
        session.login("581937")


def test_removal_mid_operation_is_device_removed(pcscd: None, profiles: ProfileSet) -> None:
    """Pull the card while it processes VERIFY. Runs on the second virtual reader: after a card vanishes
    mid-command, vpcd ignores a new card for a moment (a quirk of the virtual reader, not of real ones)."""
    virtual = VirtualCard(PinApplet(PIN, PUK), port=35964)
    virtual.insert()
    try:
        wait_for(lambda: any(s.name == READER_2 and s.card_present for s in list_readers()))
        [device] = [d for d in PcscBackend(profiles).devices() if d.info.model == READER_2]
        with device.open() as session:
            virtual.on_apdu = lambda apdu: apdu[1] == 0x20 and len(apdu) > 5  # during VERIFY(PIN)
            with pytest.raises(DeviceRemoved):
                session.login(PIN)
            assert not session.logged_in
            with pytest.raises(DeviceRemoved):
                session.pin_info()  # the handle was released; the session says so instead of hanging
    finally:
        virtual.remove()
    wait_for(lambda: not any(s.name == READER_2 and s.card_present for s in list_readers()))


def test_a_card_over_plain_pcsc_is_a_pin_only_device(card: VirtualCard, profiles: ProfileSet) -> None:
    """Its keys go through its PKCS#11 module: over PC/SC the type says PIN management only."""
    [device] = [d for d in PcscBackend(profiles).devices() if d.info.model == READER]
    assert not isinstance(device, KeyDevice)
    with device.open() as session:
        assert isinstance(session, PinSession) and not isinstance(session, KeySession)
        assert session.pin_info().remaining == 10
    assert entries.list_certificates([device]) == ([], [])  # no certificates to look for, no error either
    with pytest.raises(NotSupported, match="SM2"):
        flows.issue_hard(IssuingClient("http://127.0.0.1:9"), device, "zhangsan", PIN)


def test_insertion_and_removal_events(pcscd: None) -> None:
    events: queue.Queue[CardEvent] = queue.Queue()
    watcher = CardWatcher(events.put)
    watcher.start()
    try:
        virtual = VirtualCard(PinApplet(PIN, PUK))
        virtual.insert()
        inserted = events.get(timeout=10)
        assert (inserted.kind, inserted.reader, inserted.atr) == (CardEventKind.INSERTED, READER, ATR)
        virtual.remove()
        removed = events.get(timeout=10)
        assert (removed.kind, removed.reader) == (CardEventKind.REMOVED, READER)
    finally:
        watcher.stop()


def test_empty_reader(pcscd: None) -> None:
    wait_for(lambda: not card_present())
    assert [d for d in PcscBackend(ProfileSet.load()).devices() if d.info.model == READER] == []
    assert f"{READER}: empty" in PcscBackend(ProfileSet.load()).status().detail


def test_service_not_running_is_a_clear_error(tmp_path: Path) -> None:
    """pcsc-lite clients find the daemon through PCSCLITE_CSOCK_NAME: point it at nothing."""
    code = (
        "from drivers.pcsc import PcscBackend\n"
        "from drivers.errors import DriverUnavailable\n"
        "try:\n    PcscBackend().devices()\nexcept DriverUnavailable as e:\n    print('UNAVAILABLE', e.hint)\n"
        "print(PcscBackend().status())\n"
    )
    env = dict(os.environ, PCSCLITE_CSOCK_NAME=str(tmp_path / "no-pcscd.comm"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert "UNAVAILABLE" in out.stdout and "pcscd" in out.stdout and "SCardSvr" in out.stdout
    assert "available=False" in out.stdout
