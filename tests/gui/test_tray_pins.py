"""PIN prompts that prevent lockouts on a PC/SC smart card (issue 15, item 7; soft certificates: test_tray_flows.py,
SKF keys: test_tray_skf.py, PKCS#11: test_usb_key_on_softhsm2): a card whose PIN alone the tray manages, through a
real pcscd with the vpcd reader and the card emulator. 修改PIN码 shows the tries the card reports before the first
try, counts down, confirms the last try, and a card on a factory PIN is asked to change it after it worked."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from app.ui.pins import ChangePinDialog
from drivers.pcsc import PcscBackend, list_readers
from drivers.profiles import ProfileSet
from drivers.soft import SoftBackend
from tests.cardemu import PIN_REF, PROFILE, PinApplet, VirtualCard
from tests.gui.conftest import LiveService, close_gui, make_gui

pytestmark = pytest.mark.integration
READER = "Virtual PCD 00 00"
PIN, PUK = "135246", "87654321"


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def present() -> bool:
    return any(s.name == READER and s.card_present for s in list_readers())


@pytest.fixture()
def card(pcscd: None) -> Iterator[VirtualCard]:
    virtual = VirtualCard(PinApplet(PIN, PUK))
    virtual.insert()
    try:
        wait_for(present)
        yield virtual
    finally:
        virtual.remove()
        wait_for(lambda: not present())


def test_smart_card_pin_change_shows_the_tries_and_guards_the_last(
    qtbot: Any, live: LiveService, soft_backend: SoftBackend, card: VirtualCard, request: Any
) -> None:
    user_dir = Path(os.environ["CERTASSIST_HOME"]) / "profiles"
    user_dir.mkdir(parents=True, exist_ok=True)
    (user_dir / "virtual-card.json").write_text(json.dumps(PROFILE))
    backend = PcscBackend(ProfileSet.load(user_dir))
    gui = make_gui(qtbot, live.url, [soft_backend, backend])
    try:
        assert gui.enabled()["修改PIN码"]  # a card without certificates: its PIN can be changed all the same
        gui.menu("修改PIN码")
        change = gui.dialog(ChangePinDialog)
        assert change.tries.text().startswith("剩余 10 次")  # read from the card before anything was typed
        for left in range(9, 0, -1):
            gui.type_into(change.old_pin, "999999")
            gui.type_into(change.new_pin, "24681357")
            gui.type_into(change.confirmation, "24681357")
            gui.submit(change)
            gui.idle()
            assert change.tries.text().startswith(f"剩余 {left} 次"), change.tries.text()
        assert card.applet.remaining[PIN_REF] == 1
        gui.type_into(change.old_pin, PIN)
        gui.submit(change)
        gui.answer("确认", expect="这是最后一次尝试机会")  # the right PIN, on the last try
        gui.idle()
        gui.answer("确定", expect="修改PIN码成功")
        [device] = [d for d in backend.devices() if d.info.model == READER]
        with device.open() as session:
            session.login("24681357")
            assert session.pin_info().remaining == 10
    finally:
        close_gui(gui, request.node.name)
