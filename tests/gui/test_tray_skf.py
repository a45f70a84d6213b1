"""USB keys in the tray (issue 15, items 5-7): every hard-key flow through the real widgets, the real service process,
real SMTP and the real soft SKF library (tests/native/softskf): 签发 on a blank key, 证书登录, 修改PIN码, 证书更新,
证书废除, lock and 证书解锁 with the mailed code, 硬证书换发 keeping the key's PIN; the key shown with vendor, label
and serial; the PIN's tries shown before the user types; a key on its factory PIN asked to change it."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Tuple

import httpx
import pytest
from qtpy.QtWidgets import QListWidget

from app import flows
from app.api_client import IssuingClient
from app.ui.choose import ChooseDialog
from app.ui.issuance_code import IssuanceCodeDialog
from app.ui.login import LoginDialog
from app.ui.pins import ChangePinDialog, PinDialog, UnlockDialog
from app.ui.settings_dialog import CERTIFICATES, SettingsDialog
from drivers.errors import PinIncorrect, PinLocked
from drivers.skf import SkfBackend
from drivers.skf.driver import SkfDevice
from drivers.soft import SoftBackend
from gm.x509 import CRL
from tests.gui.conftest import Gui, LiveService, close_gui, make_gui
from tests.gui.live_service import CAPTCHA
from tests.gui.test_tray_flows import account_login, certificate_login, unlock_code
from tests.softskf import USER_PIN, KeyPuller, SoftSkf

pytestmark = pytest.mark.integration
NEW_PIN = "24681357"


@pytest.fixture()
def skf_gui(qtbot: Any, live: LiveService, soft_backend: SoftBackend, softskf: SoftSkf, request: Any) -> Iterator[Gui]:
    """The tray with a soft SKF library (one blank key inserted) beside the soft keystores."""
    made = make_gui(qtbot, live.url, [soft_backend, SkfBackend([str(softskf.library)])])
    made.inbox = live.smtp.inbox  # 证书签发 / 证书换发 after an account login ask for the mailed 签发码
    yield made
    close_gui(made, request.node.name)


def the_key(softskf: SoftSkf) -> SkfDevice:
    [device] = SkfBackend([str(softskf.library)]).devices()
    assert isinstance(device, SkfDevice)
    return device


def key_line(device: SkfDevice) -> str:
    return f"USB Key：SoftSKF（CertAssist SoftSKF，序列号 {device.info.serial}）"


def menu_lines(gui: Gui) -> List[str]:
    gui.tray.rebuild_menu()
    return [a.text() for a in gui.tray.menu.actions() if a.text().startswith("USB Key：")]


def choose_key(gui: Gui, device: SkfDevice) -> None:
    choose = gui.dialog(ChooseDialog)
    [listing] = choose.findChildren(QListWidget)
    texts = [listing.item(i).text() for i in range(listing.count())]
    assert texts == ["软证书（保存在本机）", key_line(device)]  # the key offers SM2: no refusal
    listing.setCurrentRow(1)
    gui.click(choose.ok_button)


def give_issuance_code(gui: Gui, user: Dict[str, str]) -> None:
    """The 签发码 step of 证书签发 / 证书换发 after an account login (issue 13.3): the newest mailed code."""
    dialog = gui.dialog(IssuanceCodeDialog)
    gui.type_into(dialog.code, gui.issuance_code(user["email"]))
    gui.submit(dialog)
    gui.idle()


def issue_on_key(gui: Gui, user: Dict[str, str], device: SkfDevice, change_factory_pin: bool = False) -> None:
    """证书签发 on the key with its existing PIN (a blank key: the factory 12345678)."""
    account_login(gui, user)
    gui.menu("证书签发")
    gui.answer("确认", expect="您正在执行证书签发，是否继续执行？")
    give_issuance_code(gui, user)
    choose_key(gui, device)
    pin = gui.dialog(PinDialog)
    assert "证书新签时" in pin.hint.text() and pin.tries.text().startswith("剩余 10 次")
    gui.type_into(pin.pin, USER_PIN)
    gui.submit(pin)
    gui.idle()
    gui.answer("确定", expect="证书签发操作成功")
    question = gui.answer("修改PIN码" if change_factory_pin else "稍后", expect="仍在使用出厂默认PIN码")
    assert "SoftSKF" in question
    gui.idle()


def lock_by_driver(device: SkfDevice) -> None:
    with device.open() as session:
        for _ in range(10):
            try:
                session.login("00000000")
            except PinIncorrect:
                continue
            except PinLocked:
                return


def unlock_in_tray(gui: Gui, live: LiveService, user: Dict[str, str], new_pin: str, seen: List[str]) -> None:
    """证书解锁 from the menu with the code mailed now (not one of ``seen``)."""
    gui.menu("证书解锁")
    gui.answer("确认", expect="您正在执行证书解锁")
    unlock = gui.dialog(UnlockDialog)
    gui.qtbot.waitUntil(lambda: unlock_code(live, user["email"]) not in seen, timeout=10000)
    code = unlock_code(live, user["email"])
    seen.append(code)
    gui.type_into(unlock.pin, new_pin)
    gui.type_into(unlock.confirmation, new_pin)
    gui.type_into(unlock.code, code)
    gui.submit(unlock)
    gui.idle()
    assert gui.answer("确定") == "解锁成功"


def test_usb_key_issue_login_change_pin_update_revoke(skf_gui: Gui, live: LiveService, softskf: SoftSkf) -> None:
    gui = skf_gui
    device = the_key(softskf)
    assert menu_lines(gui) == [key_line(device)]  # vendor, label and serial, in the menu
    user = live.new_user("yingjian", "硬件")
    issue_on_key(gui, user, device, change_factory_pin=True)

    # the factory PIN question led to 修改PIN码 with the PIN just used filled in
    change = gui.dialog(ChangePinDialog)
    assert change.old_pin.text() == USER_PIN and change.tries.text().startswith("剩余 10 次")
    gui.type_into(change.new_pin, NEW_PIN)
    gui.type_into(change.confirmation, NEW_PIN)
    gui.submit(change)
    gui.idle()
    gui.answer("确定", expect="修改PIN码成功")
    with device.open() as session:
        assert session.pin_is_default() is False and session.pin_is_default(admin=True) is False
    gui.refreshed()
    [entry] = gui.model.inventory.entries
    assert entry.device.info.serial == device.info.serial and entry.subject == "硬件"

    # 设置: 用户信息 and 证书列表 name the key with vendor, label and serial
    gui.menu("设置")
    settings = gui.dialog(SettingsDialog)
    assert settings.summary.labels["device"].text() == key_line(device)[len("USB Key：") :]
    settings.nav.setCurrentRow(CERTIFICATES)
    row = settings.certificates.topLevelItem(0)
    assert row.text(3) == f"SoftSKF（序列号 {device.info.serial}）" and "CertAssist SoftSKF" in row.toolTip(3)
    keys = [settings.devices.topLevelItem(i) for i in range(settings.devices.topLevelItemCount())]
    assert [(k.text(0), k.text(1), k.text(2)) for k in keys] == [
        ("USB Key：SoftSKF", "CertAssist SoftSKF", device.info.serial)
    ]
    settings.close()
    gui.controller.logout()
    gui.idle()

    # 证书登录: the tries show before the PIN is typed, and count down after a wrong one
    gui.menu("登录")
    login = gui.dialog(LoginDialog)
    gui.click(login.to_certificate)
    gui.qtbot.waitUntil(lambda: login.tries.text().startswith("剩余 10 次"))
    certificate_login(gui, "11335577")
    assert "PIN码错误，还可以尝试9次" in login.message.text() and login.tries.text().startswith("剩余 9 次")
    certificate_login(gui, NEW_PIN)
    assert gui.model.login is not None and gui.model.login.kind.value == "certificate"

    # 证书更新 on the key: the key keeps its PIN; the old container goes once the new one is in
    old = entry.container
    gui.menu("证书更新")
    gui.answer("确认", expect="您正在执行证书更新，是否继续执行？")
    pin = gui.dialog(PinDialog)
    assert pin.tries.text().startswith("剩余 10 次")
    gui.type_into(pin.pin, NEW_PIN)
    gui.submit(pin)
    gui.idle()
    assert gui.answer("确定") == "证书更新成功"  # and its escrow kept: no warning about 证书解锁
    gui.refreshed()
    [renewed] = gui.model.inventory.entries
    with device.open() as session:
        assert [c.name for c in session.containers()] == [renewed.container] != [old]

    # 证书废除 (logged in with the renewed certificate): the service revokes, the key's container goes, the key
    # stays listed
    gui.controller.logout()
    gui.idle()
    certificate_login(gui, NEW_PIN)
    gui.menu("证书废除")
    gui.answer("确认", expect="您正在执行证书废除")
    pin = gui.dialog(PinDialog)
    gui.type_into(pin.pin, NEW_PIN)
    gui.submit(pin)
    gui.idle()
    gui.answer("确定", expect="证书废除成功")
    gui.refreshed()
    assert gui.model.inventory.entries == [] and menu_lines(gui) == [key_line(device)]
    with device.open() as session:
        assert session.containers() == []
    crl = CRL.from_der(httpx.get(f"{live.url}/crl/issuing.crl").content)
    assert crl.is_revoked(renewed.sign.serial_number) is not None


def test_usb_key_locked_unlocked_twice_then_exchanged_keeping_its_pin(
    skf_gui: Gui, live: LiveService, softskf: SoftSkf
) -> None:
    gui = skf_gui
    device = the_key(softskf)
    user = live.new_user("suoding", "锁定")
    issue_on_key(gui, user, device)
    gui.refreshed()
    gui.controller.logout()
    gui.idle()

    # 修改PIN码 with wrong old PINs: 剩余 N 次 before each try, the last try confirmed, then locked
    gui.menu("修改PIN码")
    change = gui.dialog(ChangePinDialog)
    assert change.tries.text().startswith("剩余 10 次")
    for left in range(9, 0, -1):
        gui.type_into(change.old_pin, "13572468")
        gui.type_into(change.new_pin, "11223399")
        gui.type_into(change.confirmation, "11223399")
        gui.submit(change)
        gui.idle()
        assert change.tries.text().startswith(f"剩余 {left} 次")
    gui.submit(change)
    gui.answer("确认", expect="这是最后一次尝试机会")
    gui.idle()
    assert "PIN码已被锁定" in gui.box().text()
    gui.answer("证书解锁")
    unlock = gui.dialog(UnlockDialog)
    code = unlock_code(live, user["email"])
    gui.type_into(unlock.pin, NEW_PIN)
    gui.type_into(unlock.confirmation, NEW_PIN)
    gui.type_into(unlock.code, code)
    gui.submit(unlock)
    gui.idle()
    assert gui.answer("确定") == "解锁成功"  # SKF_UnblockPIN with the escrowed admin PIN, then a fresh one escrowed

    # locked again: the admin PIN escrowed after the first unlock unlocks it again
    lock_by_driver(device)
    gui.refreshed()
    codes = [code]
    unlock_in_tray(gui, live, user, "97531246", codes)
    with device.open() as session:
        session.login("97531246")
        assert session.pin_info(admin=True).remaining == 5  # never a wrong admin PIN

    # 硬证书换发 (old CA -> new CA): the key keeps its PIN (the guide: 输入原有的硬证书「PIN 码」)
    [old] = gui.model.inventory.entries
    live.operator("ca", "rotate")
    live.operator("account", "flag-exchange", "suoding")
    account_login(gui, user)
    gui.menu("证书换发")
    gui.answer("确认", expect="您正在执行证书换发，是否继续执行？")
    give_issuance_code(gui, user)  # the flag-exchange mail carried a new one
    pin = gui.dialog(PinDialog)
    assert "PIN码保持不变" in pin.hint.text() and pin.tries.text().startswith("剩余 10 次")
    gui.type_into(pin.pin, "97531246")
    gui.submit(pin)
    gui.idle()
    assert gui.answer("确定") == "证书换发成功"
    gui.refreshed()
    [new] = gui.model.inventory.entries
    assert "G2" in new.issuer and "G1" in old.issuer and new.device.info.serial == device.info.serial
    with device.open() as session:
        session.login("97531246")  # the same PIN
        assert [c.name for c in session.containers()] == [new.container]

    # the exchanged pair kept the key's escrowed admin PIN: 证书解锁 still works
    gui.controller.logout()
    lock_by_driver(device)
    gui.refreshed()
    unlock_in_tray(gui, live, user, NEW_PIN, codes)


def test_pulling_the_key_takes_it_out_of_the_menu_on_its_event(skf_gui: Gui, softskf: SoftSkf) -> None:
    """SKF_WaitForDevEvent feeds the inventory: the key leaves the menu on its removal event itself, before any scan,
    with the slot poll stopped. The latency from the event (and from the file's removal) to the menu's change is
    measured and written to test-output/skf-hotplug.json (a number to report, not a timed assertion)."""
    import json
    import time

    from tests.conftest import OUTPUT

    gui = skf_gui
    device = the_key(softskf)
    gui.qtbot.waitUntil(lambda: bool(gui.controller.inventory.skf_watchers))
    inventory = gui.controller.inventory
    [watcher] = inventory.skf_watchers
    assert watcher.mode == "wait"
    inventory.poll_timer.stop()  # only the removal event can take the key out of the menu now
    gui.qtbot.waitUntil(lambda: not inventory.scanning)
    scans = inventory.scans
    events: List[float] = []
    watcher.subscribe(lambda _event: events.append(time.monotonic()))
    changes: List[Tuple[float, int]] = []  # (when, scans finished by then) of each menu without the key
    gui.tray.menu_changed.connect(
        lambda: changes.append((time.monotonic(), inventory.scans)) if not menu_lines(gui) else None
    )
    assert menu_lines(gui) == [key_line(device)]
    pulled = time.monotonic()
    softskf.remove()
    gui.qtbot.waitUntil(lambda: bool(changes), timeout=5000)
    assert events, "the watcher saw no removal"
    changed, scans_then = changes[0]
    assert scans_then == scans  # the event itself changed the menu, not a scan of the devices it started
    measured = {"event_to_menu_ms": (changed - events[0]) * 1000, "removal_to_menu_ms": (changed - pulled) * 1000}
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "skf-hotplug.json").write_text(json.dumps({k: round(v, 1) for k, v in measured.items()}))
    assert gui.model.inventory.devices == [d for d in gui.model.inventory.devices if d.info.backend != "skf"]
    # a key inserted appears too (the event starts a scan)
    softskf.insert("softskf1")
    gui.qtbot.waitUntil(lambda: len(menu_lines(gui)) == 1, timeout=5000)
    assert menu_lines(gui)[0].startswith("USB Key：SoftSKF（CertAssist SoftSKF，序列号")


def issue_directly(live: LiveService, user: Dict[str, str], softskf: SoftSkf) -> None:
    """A certificate already on the key (issued by the same procedures the tray runs), before the tray starts."""
    client = IssuingClient(live.url)
    client.login_account(user["username"], user["applicant_name"], client.captcha().captcha_id, CAPTCHA)
    client.authorize_issuance(live.issuance_code(user["email"]))
    flows.issue_hard(client, the_key(softskf), user["username"], USER_PIN)
    client.close()


def issue_pulled_out_at(gui: Gui, user: Dict[str, str], device: SkfDevice, puller: KeyPuller, call: str) -> None:
    """证书签发 on the key, pulled out when the library's ``call`` runs; the dialog closed, the key put back."""
    account_login(gui, user)
    gui.menu("证书签发")
    gui.answer("确认")
    give_issuance_code(gui, user)
    choose_key(gui, device)
    pin = gui.dialog(PinDialog)
    gui.type_into(pin.pin, USER_PIN)
    puller.at(device.library, call)
    gui.submit(pin)
    gui.idle()
    assert "证书设备已被拔出" in pin.error_label.text()
    pin.close()
    puller.reinsert()


def resume_on_the_key(gui: Gui, device: SkfDevice) -> None:
    """The resumed 证书签发 asks no device (the attempt's key), only its PIN, and finishes with one container."""
    resumed = gui.dialog(PinDialog)
    assert ChooseDialog not in gui.controller.dialogs
    gui.type_into(resumed.pin, USER_PIN)
    gui.submit(resumed)
    gui.idle()
    gui.answer("确定", expect="证书签发操作成功")
    with device.open() as session:
        assert len(session.containers()) == 1


def test_an_issuance_the_key_interrupted_resumes_from_the_menu(
    skf_gui: Gui, live: LiveService, softskf: SoftSkf, monkeypatch: Any
) -> None:
    """The dialog was closed after the key was pulled out, and the service had already issued (the account may not
    receive another pair): 证书签发 stays open for this account while the key holds the interrupted attempt, and
    resumes it on that key without asking where."""
    gui = skf_gui
    device = the_key(softskf)
    user = live.new_user("zhongduan", "中断")
    issue_pulled_out_at(gui, user, device, KeyPuller(softskf, monkeypatch), "SKF_ImportECCKeyPair")
    gui.refreshed()
    assert gui.model.login is not None and not gui.model.login.account.may_receive_new  # issued at the service
    assert gui.enabled()["证书签发"]
    gui.menu("证书签发")
    gui.answer("确认")
    resume_on_the_key(gui, device)


def test_the_last_try_is_confirmed_before_login_and_before_a_write(
    skf_gui: Gui, live: LiveService, softskf: SoftSkf
) -> None:
    gui = skf_gui
    device = the_key(softskf)
    user = live.new_user("zuihou", "最后")
    issue_directly(live, user, softskf)

    def nine_wrong() -> None:
        with device.open() as session:
            for _ in range(9):
                with pytest.raises(PinIncorrect):
                    session.login("00000000")

    nine_wrong()
    gui.refreshed()
    gui.menu("登录")
    login = gui.dialog(LoginDialog)
    gui.click(login.to_certificate)
    gui.qtbot.waitUntil(lambda: login.tries.text().startswith("剩余 1 次"))
    gui.type_into(login.pin, USER_PIN)
    gui.click(login.certificate_button)
    gui.answer("取消", expect="这是最后一次尝试机会")  # nothing sent: still one try
    gui.idle()
    assert gui.model.login is None
    with device.open() as session:
        assert session.pin_info().remaining == 1
    gui.type_into(login.pin, USER_PIN)
    gui.click(login.certificate_button)
    gui.answer("确认", expect="这是最后一次尝试机会")
    gui.idle()
    assert gui.model.login is not None
    gui.answer("稍后", expect="出厂默认PIN码")

    nine_wrong()
    gui.menu("证书更新")
    gui.answer("确认", expect="您正在执行证书更新")
    pin = gui.dialog(PinDialog)
    assert pin.tries.text().startswith("剩余 1 次")
    gui.type_into(pin.pin, USER_PIN)
    gui.submit(pin)
    gui.answer("确认", expect="这是最后一次尝试机会")
    gui.idle()
    assert gui.answer("确定") == "证书更新成功"


def test_an_issuance_interrupted_before_the_service_asks_a_new_login_for_the_code(
    skf_gui: Gui, live: LiveService, softskf: SoftSkf, monkeypatch: Any
) -> None:
    """The key was pulled out while it signed the request: the service issued nothing. After a new login the
    resumed 证书签发 asks for the 签发码 again (the new session has none), then goes on with the key's signing
    key; it never sends a retry the service would refuse for want of the code."""
    gui = skf_gui
    device = the_key(softskf)
    user = live.new_user("qianzhi", "签前")
    issue_pulled_out_at(gui, user, device, KeyPuller(softskf, monkeypatch), "SKF_ECCSignData")
    gui.controller.logout()
    account_login(gui, user)
    gui.refreshed()
    assert gui.model.login is not None and gui.model.login.account.may_receive_new  # nothing issued
    gui.menu("证书签发")
    gui.answer("确认")
    give_issuance_code(gui, user)  # the new session is not open for issuance yet
    resume_on_the_key(gui, device)
