"""Every procedure of the guide (seed 002, sections 3-9) driven through the real tray widgets."""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import threading
from pathlib import Path
from typing import Any, Dict, List

import httpx
import pytest
from qtpy.QtWidgets import QFileDialog, QListWidget

from app.settings import Settings
from app.ui.choose import ChooseDialog
from app.ui.details import CertificateFieldsDialog
from app.ui.issuance_code import IssuanceCodeDialog
from app.ui.login import LoginDialog
from app.ui.pins import ChangePinDialog, NewPinDialog, PinDialog, UnlockDialog
from app.ui.repair_dialog import RepairDialog
from app.ui.settings_dialog import GENERAL, PROXY, SettingsDialog
from drivers.soft import SoftBackend
from gm.x509 import CRL
from tests.gui.conftest import Gui, LiveService, close_gui, make_gui
from tests.gui.live_service import CAPTCHA

PIN = "135790"
MENU = ["登录", "证书签发", "证书换发", "证书更新", "证书废除", "证书解锁", "修改PIN码"]
MENU += ["环境修复", "刷新", "关于", "设置", "清除代理登录缓存", "退出"]


def account_login(gui: Gui, user: Dict[str, str], answer: str = CAPTCHA) -> LoginDialog:
    if LoginDialog not in gui.controller.dialogs:
        gui.menu("登录")
    dialog = gui.dialog(LoginDialog)
    gui.qtbot.waitUntil(
        lambda: dialog.captcha_image.pixmap() is not None and not dialog.captcha_image.pixmap().isNull()
    )
    gui.type_into(dialog.username, user["username"])
    gui.type_into(dialog.applicant, user["applicant_name"])
    gui.type_into(dialog.captcha, answer)
    gui.click(dialog.account_button)
    gui.idle()
    return dialog


def certificate_login(gui: Gui, pin: str) -> LoginDialog:
    if LoginDialog not in gui.controller.dialogs:
        gui.menu("登录")
    dialog = gui.dialog(LoginDialog)
    if dialog.pages.currentWidget() is not dialog.certificates.parentWidget():
        gui.click(dialog.to_certificate)
    gui.type_into(dialog.pin, pin)
    gui.click(dialog.certificate_button)
    gui.idle()
    return dialog


def issue_soft_certificate(gui: Gui, user: Dict[str, str], pin: str = PIN, resend: bool = False) -> None:
    account_login(gui, user)
    assert gui.model.login is not None and gui.model.login.kind.value == "account"
    gui.menu("证书签发")
    gui.answer("确认", expect="您正在执行证书签发，是否继续执行？")
    give_issuance_code(gui, user, resend)
    dialog = gui.dialog(NewPinDialog)
    assert "您是第一次新签证书" in dialog.hint.text()
    gui.type_into(dialog.pin, pin)
    gui.type_into(dialog.confirmation, pin)
    gui.submit(dialog)
    gui.idle()
    gui.answer("确定", expect="证书签发操作成功")
    gui.refreshed()


def give_issuance_code(gui: Gui, user: Dict[str, str], resend: bool = False) -> None:
    """The 签发码 step (issue 13.3): a wrong code stays in the dialog; the mailed one goes on to the PIN;
    ``resend``: 重新发送签发码 first (the earlier code stays valid; the new one is used)."""
    dialog = gui.dialog(IssuanceCodeDialog)
    assert "签发码" in dialog.hint.text() and user["email"][0] in dialog.sent_to.text()
    gui.type_into(dialog.code, "AAAA-AAAA-AAAA-AAAA")
    gui.submit(dialog)
    gui.idle()
    assert "签发码或账号密码不正确" in dialog.error_label.text()
    if resend:
        first = gui.issuance_code(user["email"])
        gui.click(dialog.resend_button)
        gui.idle()
        assert "新的签发码已发送到" in dialog.error_label.text()
        gui.qtbot.waitUntil(lambda: gui.issuance_code(user["email"]) != first, timeout=10000)
    gui.type_into(dialog.code, gui.issuance_code(user["email"]))
    gui.submit(dialog)
    gui.idle()


def unlock_code(live: LiveService, email: str) -> str:
    body = live.smtp.inbox.body(live.smtp.inbox.wait_for(email, "解锁码"))
    match = re.search(r"解锁码：(\d{8})", body)
    assert match, body
    return match.group(1)


def test_menu_has_the_guides_items_enabled_by_state(gui: Gui, live: LiveService) -> None:
    enabled = gui.enabled()
    assert list(enabled) == MENU
    assert [k for k, v in enabled.items() if not v] == [
        "证书签发",
        "证书换发",
        "证书更新",
        "证书废除",
        "证书解锁",
        "修改PIN码",
    ]
    assert "请先使用「账号登录」" in gui.tray.action("证书签发").toolTip()
    login = gui.dialog(LoginDialog)  # the login box pops up after start, as in the guide
    assert login.windowTitle() == "证书助手"


def test_soft_issue_details_export_login_change_pin_renew(gui: Gui, live: LiveService, tmp_path: Path) -> None:
    user = live.new_user("zhangsan")
    # a wrong captcha is refused with the service's message and a new image is fetched
    dialog = account_login(gui, user, answer="ZZZZ")
    assert gui.model.login is None and "验证码" in dialog.message.text()
    issue_soft_certificate(gui, user, resend=True)
    enabled = gui.enabled()
    assert enabled["证书解锁"] and enabled["修改PIN码"] and not enabled["证书签发"]  # one certificate per account
    [entry] = gui.model.inventory.entries
    assert entry.subject == "张三" and entry.encryption is not None

    # 设置 → 用户信息 shows the certificate; 签名证书详情 exports a .cer the OpenSSL CLI reads
    gui.menu("设置")
    settings = gui.dialog(SettingsDialog)
    assert settings.summary.labels["key_type"].text() == "SM2"
    assert settings.summary.labels["subject"].text() == "张三"
    gui.click(settings.summary.sign_button)
    fields = gui.dialog(CertificateFieldsDialog, "sign")
    exported = tmp_path / "sign.cer"
    gui.click(fields.export_button)
    save = fields.save_dialog
    assert isinstance(save, QFileDialog)
    gui.qtbot.waitUntil(save.isVisible)
    save.selectFile(str(exported))
    save.accept()
    gui.qtbot.waitUntil(exported.exists)
    text = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-in", str(exported), "-noout", "-subject", "-nameopt", "utf8"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "CN=张三" in text.replace(" ", "")
    gui.click(settings.logout_button)
    gui.idle()
    assert gui.model.login is None

    # 证书登录 with a wrong PIN stays in the dialog with the retries left
    dialog = certificate_login(gui, "000000")
    assert "PIN码错误，还可以尝试9次" in dialog.message.text() and gui.model.login is None
    certificate_login(gui, PIN)
    assert gui.model.login is not None and gui.model.login.kind.value == "certificate"
    assert gui.enabled()["证书更新"] and gui.enabled()["证书废除"]

    # 修改PIN码: a mismatch is caught in the dialog, then 修改PIN码成功
    gui.menu("修改PIN码")
    change = gui.dialog(ChangePinDialog)
    gui.type_into(change.old_pin, PIN)
    gui.type_into(change.new_pin, "24680135")
    gui.type_into(change.confirmation, "24680136")
    gui.submit(change)
    gui.idle()
    assert "两次输入的新PIN码不一致" in change.error_label.text()
    gui.type_into(change.new_pin, "654321")  # one of the weakest PINs: refused in place, no try spent
    gui.type_into(change.confirmation, "654321")
    gui.submit(change)
    gui.idle()
    assert "新PIN码过于简单（连续的数字或字母）" in change.error_label.text()
    gui.type_into(change.new_pin, "24680135")
    gui.type_into(change.confirmation, "24680135")
    gui.submit(change)
    gui.idle()
    gui.answer("确定", expect="修改PIN码成功")

    # 证书更新 (inside the renewal window: the service issues 20-day certificates here)
    old_serial = entry.sign.serial_number
    gui.menu("证书更新")
    gui.answer("确认", expect="您正在执行证书更新，是否继续执行？")
    pin_dialog = gui.dialog(PinDialog)
    gui.type_into(pin_dialog.pin, "24680135")
    gui.submit(pin_dialog)
    gui.idle()
    gui.answer("确定", expect="证书更新成功")
    gui.refreshed()
    [renewed] = gui.model.inventory.entries
    assert renewed.sign.serial_number != old_serial
    assert gui.model.login is not None and gui.model.login.entry is not None
    assert gui.model.login.entry.sign == renewed.sign


def test_wrong_pin_locks_then_unlock_by_mailed_code_then_revoke(gui: Gui, live: LiveService) -> None:
    user = live.new_user("lisi", "李四")
    issue_soft_certificate(gui, user)
    gui.controller.logout()
    gui.idle()
    # 修改PIN码 with a wrong old PIN: the dialog says the tries left before the first try, stays open and counts
    # down; the last try is confirmed first (取消 keeps it), and the 10th wrong PIN locks
    gui.menu("修改PIN码")
    change = gui.dialog(ChangePinDialog)
    assert change.tries.text().startswith("剩余 10 次")
    for left in range(9, 0, -1):
        gui.type_into(change.old_pin, "000000")
        gui.type_into(change.new_pin, "11112222")
        gui.type_into(change.confirmation, "11112222")
        gui.submit(change)
        gui.idle()
        assert f"PIN码错误，还可以尝试{left}次" in change.error_label.text()
        assert change.tries.text().startswith(f"剩余 {left} 次")
    gui.submit(change)
    gui.answer("取消", expect="这是最后一次尝试机会")  # not sent: the try is kept
    gui.idle()
    assert ChangePinDialog in gui.controller.dialogs and change.tries.text().startswith("剩余 1 次")
    gui.submit(change)
    gui.answer("确认", expect="这是最后一次尝试机会")
    gui.idle()
    assert ChangePinDialog not in gui.controller.dialogs  # locked: the dialog gives way to the next step
    box = gui.box()
    assert "PIN码已被锁定" in box.text()
    gui.answer("证书解锁")  # the error offers 证书解锁 directly, and does not ask a second time
    assert not gui.controller.prompts.open
    gui.idle()
    unlock = gui.dialog(UnlockDialog)
    texts = " ".join(label.text() for label in unlock.findChildren(type(unlock.hint)))
    assert "请到用户注册邮箱查看解锁码" in texts and "需解锁用户：李四（签名证书）" in texts
    code = unlock_code(live, user["email"])
    gui.type_into(unlock.pin, "97531246")
    gui.type_into(unlock.confirmation, "97531246")
    gui.type_into(unlock.code, "00000000" if code != "00000000" else "11111111")
    gui.submit(unlock)
    gui.idle()
    assert "解锁码错误" in unlock.error_label.text()  # a wrong code can be retyped in place
    gui.type_into(unlock.code, code)
    gui.submit(unlock)
    gui.idle()
    gui.answer("确定", expect="解锁成功")

    # the new PIN logs in; 证书废除 revokes at the service and removes the certificate here
    certificate_login(gui, "97531246")
    assert gui.model.login is not None and gui.model.login.entry is not None
    serial = gui.model.login.entry.sign.serial_number
    gui.menu("证书废除")
    gui.answer("确认", expect="您正在执行证书废除")
    revoke = gui.dialog(PinDialog)
    gui.type_into(revoke.pin, "97531246")
    gui.submit(revoke)
    gui.idle()
    gui.answer("确定", expect="证书废除成功")
    gui.refreshed()
    assert gui.model.inventory.entries == [] and gui.model.login is None
    crl = CRL.from_der(httpx.get(f"{live.url}/crl/issuing.crl").content)
    assert crl.is_revoked(serial) is not None


def test_exchange_after_ca_rotation(gui: Gui, live: LiveService) -> None:
    user = live.new_user("wangwu", "王五")
    issue_soft_certificate(gui, user, pin="36925814")
    [old] = gui.model.inventory.entries
    live.operator("ca", "rotate")  # the service sees it at once (its CA cache is off in the tests)
    live.operator("account", "flag-exchange", "wangwu")
    gui.controller.logout()
    gui.idle()
    account_login(gui, user)
    enabled = gui.enabled()
    assert enabled["证书换发"] and not enabled["证书签发"]
    gui.menu("证书换发")
    gui.answer("确认", expect="您正在执行证书换发，是否继续执行？")
    code = gui.dialog(IssuanceCodeDialog)  # the flag-exchange mail carried a new code
    gui.type_into(code.code, gui.issuance_code(user["email"]))
    gui.submit(code)
    gui.idle()
    pin_dialog = gui.dialog(PinDialog)
    gui.type_into(pin_dialog.pin, "36925814")  # the key keeps its PIN
    gui.submit(pin_dialog)
    gui.idle()
    gui.answer("确定", expect="证书换发成功")
    gui.refreshed()
    [new] = gui.model.inventory.entries
    assert new.sign != old.sign and "G2" in new.issuer and "G1" in old.issuer
    assert not gui.enabled()["证书换发"]


def test_company_name_change_by_update(gui: Gui, live: LiveService) -> None:
    user = live.new_user("zhaoliu", "某某商贸有限公司")
    issue_soft_certificate(gui, user)
    live.operator("name-change", "request", "zhaoliu", "--new-name", "某某科技有限公司")
    live.operator("name-change", "approve", "zhaoliu")
    gui.controller.logout()
    gui.idle()
    certificate_login(gui, PIN)
    gui.menu("证书更新")
    gui.answer("确认", expect="您正在执行证书更新，是否继续执行？")
    pin_dialog = gui.dialog(PinDialog)
    gui.type_into(pin_dialog.pin, PIN)
    gui.submit(pin_dialog)
    gui.idle()
    gui.answer("确定", expect="证书更新成功")
    gui.refreshed()
    [entry] = gui.model.inventory.entries
    assert entry.subject == "某某科技有限公司"


def test_expiry_warning_once_a_day_and_status_line(gui: Gui, live: LiveService) -> None:
    user = live.new_user("sunqi", "孙七")
    issue_soft_certificate(gui, user)
    warnings = [n for n in gui.notifications if "就要过期" in n]
    assert len(warnings) == 1 and "检查到您的证书还有:19天就要过期" in warnings[0]
    gui.refreshed()
    assert len([n for n in gui.notifications if "就要过期" in n]) == 1  # at most once a day
    saved_on: List[threading.Thread] = []
    settings_type = type(gui.model.settings)
    save = settings_type.save

    def recorded_save(self: Any) -> None:
        saved_on.append(threading.current_thread())
        save(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings_type, "save", recorded_save)
        tomorrow = datetime.date.today() + datetime.timedelta(days=1)
        assert gui.controller.inventory.check_expiry(tomorrow)
        gui.idle()
    # the day of the notice is remembered, written by a worker (an fsync on the GUI thread stalled it)
    assert saved_on and threading.main_thread() not in saved_on
    assert type(gui.model.settings).load().last_expiry_notice == tomorrow.isoformat()
    gui.menu("设置")
    settings = gui.dialog(SettingsDialog)
    assert "检查到您的证书还有:19天就要过期" in settings.summary.labels["status"].text()
    # a shorter warning period silences it
    settings.nav.setCurrentRow(GENERAL)
    # plain http to another computer is refused with the reason (issue 13.2); nothing is saved
    gui.type_into(settings.service_url, "http://ca.example.cn")
    settings.warning_days.setValue(7)
    gui.click(settings.general_save)
    assert "必须使用 https://" in settings.general_status.text()
    assert gui.model.settings.service_url == live.url and gui.model.settings.expiry_warning_days != 7
    gui.type_into(settings.service_url, live.url)
    gui.click(settings.general_save)
    assert gui.model.settings.expiry_warning_days == 7
    assert not gui.controller.inventory.check_expiry(datetime.date.today() + datetime.timedelta(days=2))


def test_proxy_settings_round_trip_and_clear_cache(gui: Gui, live: LiveService) -> None:
    gui.dialog(LoginDialog).close()  # opened at start, before the proxy was set
    gui.menu("设置")
    settings = gui.dialog(SettingsDialog)
    settings.nav.setCurrentRow(PROXY)
    gui.click(settings.proxy_http)
    gui.type_into(settings.proxy_url, "proxy.example.com")
    gui.click(settings.proxy_save_button)
    assert "端口" in settings.proxy_status.text() or "格式" in settings.proxy_status.text()
    gui.type_into(settings.proxy_url, "http://127.0.0.1:9")
    gui.type_into(settings.proxy_username, "alice")
    gui.type_into(settings.proxy_password, "s3cret-proxy")
    gui.click(settings.proxy_save_button)
    assert settings.proxy_status.text() == "代理设置已保存"
    stored = json.loads(Settings.path().read_text(encoding="utf-8"))
    assert stored["proxy_mode"] == "http" and stored["proxy_url"] == "http://127.0.0.1:9"
    assert stored["proxy_username"] == "alice" and "s3cret-proxy" not in Settings.path().read_text(encoding="utf-8")
    assert gui.model.proxy() == "http://alice:s3cret-proxy@127.0.0.1:9"  # the password came from the keyring
    settings.close()
    gui.menu("设置")
    reopened = gui.dialog(SettingsDialog)
    reopened.nav.setCurrentRow(PROXY)
    assert reopened.proxy_http.isChecked() and reopened.proxy_password.placeholderText() == "（已保存）"
    # the service is now only reachable through a proxy that is not there: the error names 代理服务
    reopened.close()
    gui.menu("登录")
    login = gui.dialog(LoginDialog)
    gui.qtbot.waitUntil(lambda: "代理服务" in login.message.text(), timeout=30000)
    login.close()
    # 清除代理登录缓存 forgets the password
    gui.menu("清除代理登录缓存")
    gui.answer("确认", expect="将清除保存的代理密码和登录状态")
    gui.answer("确定", expect="代理登录缓存已清除")
    assert gui.model.credentials.proxy_password("http://127.0.0.1:9", "alice") is None
    assert gui.model.proxy() == "http://alice@127.0.0.1:9"


def test_repair_reports_each_check(gui: Gui, live: LiveService) -> None:
    gui.menu("环境修复")
    repair = gui.dialog(RepairDialog)
    gui.qtbot.waitUntil(lambda: bool(repair.checks), timeout=30000)
    names = [c.name for c in repair.checks]
    assert "证书服务连接" in names and "系统时间" in names and "根证书" in names
    assert all(c.outcome.value in ("ok", "repaired", "warning") for c in repair.checks), repair.checks


def test_service_down_error_names_proxy_settings(qtbot: Any, soft_backend: SoftBackend, request: Any) -> None:
    gui = make_gui(qtbot, "http://127.0.0.1:9", [soft_backend])
    try:
        login = gui.dialog(LoginDialog)
        gui.qtbot.waitUntil(lambda: "代理服务" in login.message.text(), timeout=30000)
        assert "127.0.0.1:9" in login.message.text()
    finally:
        close_gui(gui, request.node.name)


def test_usb_key_on_softhsm2(
    qtbot: Any, live: LiveService, soft_backend: SoftBackend, softhsm: Any, request: Any
) -> None:
    """A PKCS#11 key holding a certificate (ECDSA: SoftHSM2 has no SM2): listed, PIN changed, SM2 refused."""
    from drivers.model import KeyAlgorithm, KeyUsage
    from drivers.pkcs11 import Pkcs11Backend
    from tests.integration.test_pkcs11_softhsm import cert_for
    from tests.softhsm import USER_PIN

    label = softhsm.new_token()
    backend = Pkcs11Backend([softhsm.module])
    [device] = [d for d in backend.devices() if d.info.label == label]
    with device.open() as session:
        session.login(USER_PIN)
        session.create_container("usbkey")
        session.write_certificate(
            "usbkey", KeyUsage.SIGN, cert_for(session.generate_key("usbkey", KeyAlgorithm.EC_P256))
        )
    gui = make_gui(qtbot, live.url, [soft_backend, backend])
    gui.inbox = live.smtp.inbox
    try:
        [entry] = gui.model.inventory.entries
        assert entry.device.info.label == label and entry.subject == "EC test"
        # 修改PIN码 on the key: a wrong old PIN is refused in place, then the change works on the token
        gui.menu("修改PIN码")
        change = gui.dialog(ChangePinDialog)
        assert change.tries.text() == "注意：PIN码连续输错多次后将被锁定"  # SoftHSM2 tells no count
        for old in ("999999", USER_PIN):
            gui.type_into(change.old_pin, old)
            gui.type_into(change.new_pin, "65432100")
            gui.type_into(change.confirmation, "65432100")
            gui.submit(change)
            gui.idle()
            if old != USER_PIN:
                assert "PIN码错误" in change.error_label.text()
        gui.answer("确定", expect="修改PIN码成功")
        with device.open() as session:
            session.login("65432100")
        # 证书签发 onto the key: the device list says it lacks SM2, and choosing it is refused up front (no PIN)
        user = live.new_user("usbuser", "钱八")
        account_login(gui, user)
        gui.menu("证书签发")
        gui.answer("确认")
        code = gui.dialog(IssuanceCodeDialog)
        gui.type_into(code.code, gui.issuance_code(user["email"]))
        gui.submit(code)
        gui.idle()
        choose = gui.dialog(ChooseDialog)
        [listing] = choose.findChildren(QListWidget)
        serial = device.info.serial
        assert [listing.item(i).text() for i in range(listing.count())] == [
            "软证书（保存在本机）",
            f"USB Key：{label}（SoftHSM project，序列号 {serial}）（不支持国密SM2）",
        ]
        listing.setCurrentRow(1)
        gui.click(choose.ok_button)
        text = gui.answer("确定")
        assert "不支持国密SM2双证书（缺少：在设备中生成SM2密钥、SM2签名、导入加密密钥对）" in text
        assert PinDialog not in gui.controller.dialogs
        with device.open() as session:
            assert [c.name for c in session.containers()] == ["usbkey"]  # nothing was written
    finally:
        close_gui(gui, request.node.name)
