"""A USB key pulled out in the middle of each write (issue 15, item 5), through the real tray widgets, the service
process and the soft SKF library: its state file leaves SOFTSKF_HOME just before the chosen SKF call (KeyPuller) and
comes back with everything it held, as a key put back into its port."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from app import entries
from app.ui.pins import ChangePinDialog, PinDialog, UnlockDialog
from drivers.skf import SkfBackend
from drivers.skf.driver import SkfDevice
from drivers.soft import SoftBackend
from tests.gui.conftest import Gui, LiveService, close_gui, make_gui
from tests.gui.test_tray_flows import account_login, certificate_login, unlock_code
from tests.gui.test_tray_skf import (
    NEW_PIN,
    choose_key,
    give_issuance_code,
    issue_directly,
    key_line,
    lock_by_driver,
    menu_lines,
    the_key,
)
from tests.softskf import USER_PIN, KeyPuller, SoftSkf

pytestmark = pytest.mark.integration

# (case, the SKF call the key is pulled out at (just before it), which PIN call of that name: user or admin)
PULLS = {
    "issue": "SKF_ImportECCKeyPair",  # the signing key generated, the pair issued, nothing written yet
    "update-install": "SKF_ImportCertificate",  # the new container half written; the old one untouched
    "update-cleanup": "SKF_DeleteContainer",  # the new pair in; the old container not yet removed
    "exchange": "SKF_ImportCertificate",
    "revoke": "SKF_DeleteContainer",  # revoked at the service; the container still on the key
    "change-pin": "SKF_ChangePIN",
    "unlock": "SKF_UnblockPIN",  # the code already spent at the service
}


@pytest.mark.parametrize("case", list(PULLS))
def test_key_pulled_out_mid_write_then_the_next_attempt_resumes(
    qtbot: Any,
    live: LiveService,
    soft_backend: SoftBackend,
    softskf: SoftSkf,
    monkeypatch: Any,
    request: Any,
    case: str,
) -> None:
    """The key leaves its port in the middle of the write: a typed error in the open dialog (it stays open), the old
    certificate still on the key, and 确定 after re-inserting it finishes from where it stopped."""
    user = live.new_user(f"pull{list(PULLS).index(case)}", "拔出")
    if case != "issue":
        issue_directly(live, user, softskf)
    if case == "exchange":
        live.operator("ca", "rotate")
        live.operator("account", "flag-exchange", user["username"])
    device = the_key(softskf)
    old = entries.list_certificates([device])[0]
    if case == "unlock":
        lock_by_driver(device)
    gui = make_gui(qtbot, live.url, [soft_backend, SkfBackend([str(softskf.library)])])
    gui.inbox = live.smtp.inbox
    try:
        puller = KeyPuller(softskf, monkeypatch)
        dialog = start_write(gui, live, user, device, case)
        puller.at(device.library, PULLS[case], when=(lambda args: args[1] == 1) if case == "change-pin" else None)
        gui.submit(dialog)
        gui.idle()
        assert puller.pulled == 1
        expected = "证书服务已完成操作" if case in ("update-cleanup", "revoke") else "证书设备已被拔出"
        assert expected in dialog.error_label.text() and dialog.isVisible()
        gui.qtbot.waitUntil(lambda: menu_lines(gui) == [])  # the removal event took the key out of the menu
        puller.reinsert()
        if case in ("update-install", "exchange", "revoke", "change-pin", "unlock"):
            assert entries.list_certificates([device])[0] == old  # the old certificate is still there
        gui.qtbot.waitUntil(lambda: menu_lines(gui) == [key_line(device)])
        gui.submit(dialog)  # the next attempt, in the same dialog
        gui.idle()
        done = {
            "issue": "证书签发操作成功",
            "update-install": "证书更新成功",
            "update-cleanup": "证书更新成功",
            "exchange": "证书换发成功",
            "revoke": "证书废除成功",
            "change-pin": "修改PIN码成功",
            "unlock": "解锁成功",
        }[case]
        assert gui.answer("确定") == done
        check_after(device, case, old)
    finally:
        close_gui(gui, request.node.name)


def start_write(gui: Gui, live: LiveService, user: Dict[str, str], device: SkfDevice, case: str) -> Any:
    """The flow of ``case`` up to its dialog, filled in and ready to submit."""
    if case == "issue":
        account_login(gui, user)
        gui.menu("证书签发")
        gui.answer("确认")
        give_issuance_code(gui, user)
        choose_key(gui, device)
    elif case == "exchange":
        account_login(gui, user)
        gui.menu("证书换发")
        gui.answer("确认")
        give_issuance_code(gui, user)
    elif case in ("update-install", "update-cleanup", "revoke"):
        certificate_login(gui, USER_PIN)
        gui.answer("稍后", expect="仍在使用出厂默认PIN码")  # the key's factory PIN, used for the first time here
        gui.menu("证书更新" if case != "revoke" else "证书废除")
        gui.answer("确认")
    elif case == "change-pin":
        gui.menu("修改PIN码")
        change = gui.dialog(ChangePinDialog)
        gui.type_into(change.old_pin, USER_PIN)
        gui.type_into(change.new_pin, NEW_PIN)
        gui.type_into(change.confirmation, NEW_PIN)
        return change
    elif case == "unlock":
        gui.menu("证书解锁")
        gui.answer("确认")
        unlock = gui.dialog(UnlockDialog)
        gui.type_into(unlock.pin, NEW_PIN)
        gui.type_into(unlock.confirmation, NEW_PIN)
        gui.type_into(unlock.code, unlock_code(live, user["email"]))
        return unlock
    pin = gui.dialog(PinDialog)
    gui.type_into(pin.pin, USER_PIN)
    return pin


def check_after(device: SkfDevice, case: str, old: List[entries.CertificateEntry]) -> None:
    found = entries.list_certificates([device])[0]
    with device.open() as session:
        names = [c.name for c in session.containers()]
    if case == "revoke":
        assert found == [] and names == []
        return
    assert len(found) == 1 and names == [found[0].container]  # one container: resumed, not started again
    if case in ("update-install", "update-cleanup", "exchange"):
        assert found[0].sign != old[0].sign
    with device.open() as session:
        session.login(NEW_PIN if case in ("change-pin", "unlock") else USER_PIN)
        assert session.pin_info(admin=True).remaining == 5
