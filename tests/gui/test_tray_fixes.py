"""What users saw in the tray (issue 12, item 6), each tried through the real widgets."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any, Iterator, List

import pytest
from qtpy.QtCore import QCoreApplication, QRect, Qt
from qtpy.QtWidgets import QAbstractButton, QFileDialog, QLabel, QLineEdit, QTableWidget, QTreeWidget

from app.repair import Repair
from app.ui import i18n
from app.ui.certificate_flows import UpdateFlow
from app.ui.details import CertificateFieldsDialog
from app.ui.login import LoginDialog
from app.ui.pins import ChangePinDialog, PinDialog
from app.ui.repair_dialog import RepairDialog
from app.ui.settings_dialog import CERTIFICATES, PROXY, SettingsDialog
from drivers.soft import SoftBackend
from tests.gui.conftest import OUTPUT, Gui, LiveService, close_gui, make_gui, start_service
from tests.gui.test_tray_flows import PIN, account_login, certificate_login, issue_soft_certificate
from tests.peers import SmtpServer

CJK = re.compile(r"[\u4e00-\u9fff]")
SHOTS = OUTPUT / "dialogs"


def shot(widget: Any, name: str) -> None:
    """A picture of the real dialog as it is now, for people to look at (test-output/dialogs/)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    QCoreApplication.processEvents()
    assert widget.grab().save(str(SHOTS / f"{name}.png"))


@pytest.fixture()
def english_later(qapp: Any) -> Iterator[Any]:
    """Switches the UI to English when called; back to Chinese after the test."""
    yield lambda: i18n.install("en")
    i18n.install("zh_CN")


def visible_texts(widget: Any) -> List[str]:
    """Every text a user can read in ``widget``: labels, buttons, fields, list and table cells, headers."""
    texts = [widget.windowTitle()]
    texts += [label.text() for label in widget.findChildren(QLabel) if label.isVisibleTo(widget)]
    texts += [button.text() for button in widget.findChildren(QAbstractButton) if button.isVisibleTo(widget)]
    texts += [edit.placeholderText() for edit in widget.findChildren(QLineEdit) if edit.isVisibleTo(widget)]
    for tree in widget.findChildren(QTreeWidget):
        header = tree.headerItem()
        texts += [header.text(c) for c in range(tree.columnCount())]
        for row in range(tree.topLevelItemCount()):
            item = tree.topLevelItem(row)
            texts += [item.text(c) for c in range(tree.columnCount())]
    for table in widget.findChildren(QTableWidget):
        texts += [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
        texts += [
            table.item(r, c).text() for r in range(table.rowCount()) for c in range(3) if table.item(r, c) is not None
        ]
    return [t for t in texts if t]


# -- every text Chinese, and English in the English UI -----------------------------------------


def test_english_ui_shows_no_chinese(gui: Gui, live: LiveService, english_later: Any) -> None:
    user = live.new_user("alice", "Alice Ltd")  # user data in ASCII: anything Chinese left is ours
    issue_soft_certificate(gui, user)
    english_later()
    gui.menu("Settings")
    settings = gui.dialog(SettingsDialog)
    assert "Account type: Natural person" in settings.account_label.text()
    assert settings.summary.labels["device"].text() == "Soft certificate alice"
    settings.nav.setCurrentRow(CERTIFICATES)
    gui.click(settings.refresh_button)
    gui.qtbot.waitUntil(lambda: "Refreshed" in settings.refresh_status.text())
    # the CA's name inside a certificate (O=证书助手 CertAssist) is data, not the UI's text
    leaks = [t for t in visible_texts(settings) if CJK.search(t) and "CN=" not in t]
    assert leaks == []
    gui.menu("Repair environment")
    repair = gui.dialog(RepairDialog)
    gui.qtbot.waitUntil(lambda: bool(repair.checks))
    leaks = [t for t in visible_texts(repair) if CJK.search(t)]
    assert leaks == []
    shot(repair, "repair-english")


def test_smartcard_service_is_explained_in_chinese_and_not_pushed_on_soft_users(
    qtbot: Any, live: LiveService, soft_backend: SoftBackend, request: Any
) -> None:
    """With the real PC/SC backend: no English or shell commands in 证书列表 / 环境修复; without a service
    (as on a machine with soft certificates only) the check says it is not needed instead of warning."""
    from drivers.pcsc import PcscBackend

    gui = make_gui(qtbot, live.url, [soft_backend, PcscBackend()])
    try:
        gui.menu("设置")
        settings = gui.dialog(SettingsDialog)
        settings.nav.setCurrentRow(CERTIFICATES)
        text = settings.problems.text()
        assert "systemctl" not in text and "pcsc:" not in text and "PC/SC smart card" not in text
        gui.menu("环境修复")
        repair = gui.dialog(RepairDialog)
        gui.qtbot.waitUntil(lambda: bool(repair.checks))
        [check] = [c for c in repair.checks if c.name == "智能卡服务 (PC/SC)"]
        shown = check.detail.render(i18n.tr)
        assert not re.search(r"[a-z]{4,} [a-z]{4,}", shown), shown  # no English sentence
        assert "systemctl" not in shown
        if gui.model.inventory.smartcard_service:
            assert check.outcome.value == "ok"
        else:  # only soft certificates here: it is not needed, so nothing to fix
            assert check.outcome.value == "info" and "只使用软证书时不需要" in shown
    finally:
        close_gui(gui, request.node.name)


def test_qt_own_texts_are_chinese(qapp: Any) -> None:
    """Qt's own dialogs and menus (file dialog, a text field's context menu) in Chinese, English in English."""
    i18n.install("zh_CN")
    edit = QLineEdit()
    menu = edit.createStandardContextMenu()
    assert any(a.text().startswith("复制") for a in menu.actions()), [a.text() for a in menu.actions()]
    assert QCoreApplication.translate("QFileDialog", "Save As") == "另存为"
    i18n.install("en")
    assert QCoreApplication.translate("QFileDialog", "Save As") == "Save As"
    i18n.install("zh_CN")


# -- 证书更新 is checked before the PIN ----------------------------------------------------------


@pytest.fixture()
def live_60(tmp_path: Path, smtp: SmtpServer) -> Iterator[LiveService]:
    """Certificates valid for 60 days: outside the 30-day renewal window."""
    service = start_service(tmp_path / "server60", smtp, validity_days=60)
    yield service
    service.stop()


def test_update_says_why_before_asking_the_pin(
    qtbot: Any, live_60: LiveService, soft_backend: SoftBackend, request: Any
) -> None:
    gui = make_gui(qtbot, live_60.url, [soft_backend])
    gui.inbox = live_60.smtp.inbox
    try:
        user = live_60.new_user("zhouba", "周八")
        issue_soft_certificate(gui, user)
        gui.controller.logout()
        gui.idle()
        certificate_login(gui, PIN)
        action = gui.tray.action("证书更新")
        assert not action.isEnabled()  # disabled with the reason, as 证书换发 is
        assert "还有" in action.toolTip() and "到期前一个月内办理" in action.toolTip()
        # started anyway (a stale menu): the service is asked first, no PIN is asked
        flow = gui.controller.actions.update()
        assert isinstance(flow, UpdateFlow)
        text = gui.answer("确定")
        assert "到期前一个月内办理" in text
        assert PinDialog not in gui.controller.dialogs and not flow.running
        # once a company-name change is approved, 刷新 opens 证书更新
        live_60.operator("name-change", "request", "zhouba", "--new-name", "周八科技有限公司")
        live_60.operator("name-change", "approve", "zhouba")
        gui.refreshed()
        gui.qtbot.waitUntil(lambda: gui.tray.action("证书更新").isEnabled())
        gui.menu("证书更新")
        gui.answer("确认", expect="您正在执行证书更新，是否继续执行？")
        gui.dialog(PinDialog)
    finally:
        close_gui(gui, request.node.name)


# -- 刷新, the captcha, export, the proxy test ----------------------------------------------------


def test_refresh_gives_feedback(gui: Gui, live: LiveService) -> None:
    gui.refreshed()
    gui.qtbot.waitUntil(lambda: any("刷新完成" in n for n in gui.notifications))
    assert gui.notifications[-1].endswith("刷新完成：没有找到证书。请插入USB Key，或使用「证书签发」申请证书。")
    gui.menu("设置")
    settings = gui.dialog(SettingsDialog)
    settings.nav.setCurrentRow(CERTIFICATES)
    gui.click(settings.refresh_button)
    assert settings.refresh_status.text() == "正在刷新…" and not settings.refresh_button.isEnabled()
    gui.qtbot.waitUntil(lambda: settings.refresh_status.text().startswith("已刷新"))
    assert settings.refresh_button.isEnabled()


def test_wrong_captcha_new_picture_right_text_focus_on_captcha(gui: Gui, live: LiveService) -> None:
    user = live.new_user("qianjiu", "钱九")
    dialog = account_login(gui, user, answer="ZZZZ")
    flow = gui.controller.session.flow
    assert flow is not None
    first = flow.captcha_id
    gui.qtbot.waitUntil(lambda: flow.captcha_id != first or dialog.captcha_image.pixmap().isNull() is False)
    assert dialog.message.text() == "验证码错误或已过期，已换一张新的验证码，请重新输入"
    assert "点击图片" not in dialog.message.text()
    assert dialog.captcha.text() == "" and dialog.focusWidget() is dialog.captcha
    assert dialog.username.text() == "qianjiu"  # what was typed stays
    shot(dialog, "login-wrong-captcha")
    gui.type_into(dialog.captcha, "ACDE")
    gui.click(dialog.account_button)
    gui.idle()
    assert gui.model.login is not None


def test_export_names_differ_and_start_in_documents(
    gui: Gui, live: LiveService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOCUMENTS_DIR", raising=False)
    issue_soft_certificate(gui, live.new_user("wuyi", "吴一"))
    gui.menu("设置")
    settings = gui.dialog(SettingsDialog)
    names = []
    for button, key in ((settings.summary.sign_button, "sign"), (settings.summary.encryption_button, "encrypt")):
        gui.click(button)
        fields = gui.dialog(CertificateFieldsDialog, key)
        gui.click(fields.export_button)
        save = fields.save_dialog
        assert isinstance(save, QFileDialog)
        gui.qtbot.waitUntil(save.isVisible)
        assert Path(save.directory().absolutePath()) == home / "Documents"
        [chosen] = save.selectedFiles()
        names.append(Path(chosen).name)
        save.accept()  # saves under the default name
        gui.qtbot.waitUntil(lambda c=chosen: Path(c).exists())
    assert names == ["吴一-签名证书.cer", "吴一-加密证书.cer"]
    assert (home / "Documents" / names[0]).read_bytes() != (home / "Documents" / names[1]).read_bytes()


def test_unreachable_proxy_says_the_proxy_does_not_answer(gui: Gui, live: LiveService) -> None:
    gui.dialog(LoginDialog).close()
    gui.menu("设置")
    settings = gui.dialog(SettingsDialog)
    settings.nav.setCurrentRow(PROXY)
    gui.click(settings.proxy_http)
    gui.type_into(settings.proxy_url, "http://127.0.0.1:9")
    gui.click(settings.proxy_test_button)
    gui.qtbot.waitUntil(lambda: "没有响应" in settings.proxy_status.text(), timeout=30000)
    assert "代理服务器 http://127.0.0.1:9 没有响应" in settings.proxy_status.text()
    assert "配置代理" not in settings.proxy_status.text()


# -- 证书废除's question ---------------------------------------------------------------------------


def test_revoke_question_defaults_to_cancel_in_the_guides_order(gui: Gui, live: LiveService) -> None:
    issue_soft_certificate(gui, live.new_user("zhengshi", "郑十"))
    gui.controller.logout()
    certificate_login(gui, PIN)
    gui.menu("证书废除")
    box = gui.box()
    buttons = {b.text(): b for b in box.findChildren(QAbstractButton) if b.text()}
    assert box.defaultButton() is buttons["取消"]
    assert (
        buttons["取消"].mapToGlobal(buttons["取消"].rect().topLeft()).x()
        < buttons["确认"].mapToGlobal(buttons["确认"].rect().topLeft()).x()
    )
    shot(box, "revoke-question")
    gui.qtbot.keyClick(box, Qt.Key.Key_Return)  # Enter does the safe thing
    gui.qtbot.waitUntil(lambda: not gui.controller.prompts.open)
    assert PinDialog not in gui.controller.dialogs and len(gui.model.inventory.entries) == 1


# -- 环境修复 ------------------------------------------------------------------------------------


def test_repair_headers_full_details_and_proxy_reset(gui: Gui, live: LiveService) -> None:
    settings = gui.model.settings
    settings.proxy_mode, settings.proxy_url = "http", "http://127.0.0.1:9"
    settings.save()
    gui.menu("环境修复")
    repair = gui.dialog(RepairDialog)
    gui.qtbot.waitUntil(lambda: bool(repair.checks), timeout=30000)
    table = repair.table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["检查项", "结果", "说明", "修复"]
    [row] = [r for r in range(table.rowCount()) if table.item(r, 0).text() == "证书服务连接"]
    detail = table.item(row, 2).text()
    assert "代理服务器 http://127.0.0.1:9 没有响应" in detail
    width = table.columnWidth(2)
    needed = table.fontMetrics().boundingRect(QRect(0, 0, width - 8, 10000), Qt.TextFlag.TextWordWrap, detail)
    assert table.rowHeight(row) >= needed.height()  # the whole explanation shows, over several lines
    shot(repair, "repair-proxy-does-not-answer")
    reset = repair.repair_buttons[Repair.RESET_PROXY]
    gui.click(reset)
    gui.qtbot.waitUntil(
        lambda: any(c.name == "证书服务连接" and c.outcome.value == "ok" for c in repair.checks), timeout=30000
    )
    assert gui.model.settings.proxy_mode == "none"


# -- sizes: PIN fields, columns, the login box ----------------------------------------------------


def test_pin_fields_keep_their_size_when_an_error_shows(gui: Gui, live: LiveService) -> None:
    issue_soft_certificate(gui, live.new_user("fengqi", "冯七"))
    gui.menu("修改PIN码")
    change = gui.dialog(ChangePinDialog)
    gui.qtbot.waitExposed(change)
    before = [field.geometry() for field in (change.old_pin, change.new_pin, change.confirmation)]
    size = change.size()
    gui.type_into(change.old_pin, PIN)
    gui.type_into(change.new_pin, "24680135")
    gui.type_into(change.confirmation, "24680136")
    gui.submit(change)
    gui.idle()
    assert "两次输入的新PIN码不一致" in change.error_label.text()
    QCoreApplication.processEvents()
    assert [field.geometry() for field in (change.old_pin, change.new_pin, change.confirmation)] == before
    assert change.size() == size
    shot(change, "change-pin-error")
    # a message longer than the kept room (the weak-PIN advice wraps to three lines): the dialog grows, the
    # fields keep their size and place, and every line of the message shows
    gui.type_into(change.new_pin, "123456")
    gui.type_into(change.confirmation, "123456")
    gui.submit(change)
    gui.idle()
    QCoreApplication.processEvents()
    label = change.error_label
    assert "过于简单" in label.text()
    assert [field.geometry() for field in (change.old_pin, change.new_pin, change.confirmation)] == before
    assert label.height() >= label.heightForWidth(label.width()) > 2 * label.fontMetrics().lineSpacing()
    assert change.height() > size.height()
    shot(change, "change-pin-long-error")


def _columns_fit(tree: QTreeWidget) -> None:
    header = tree.header()
    last = tree.columnCount() - 1
    assert header.sectionViewportPosition(last) + header.sectionSize(last) <= tree.viewport().width()
    date = tree.topLevelItem(0).text(2)
    assert header.sectionSize(2) >= tree.fontMetrics().horizontalAdvance(date)


def test_certificate_columns_are_not_cut_off(gui: Gui, live: LiveService) -> None:
    issue_soft_certificate(gui, live.new_user("chenliu", "陈六"))
    gui.controller.logout()
    login = gui.controller.login().dialog
    gui.click(login.to_certificate)
    gui.qtbot.waitExposed(login)
    _columns_fit(login.certificates)
    shot(login, "login-certificate-page")
    login.close()
    gui.menu("设置")
    settings = gui.dialog(SettingsDialog)
    settings.nav.setCurrentRow(CERTIFICATES)
    gui.qtbot.waitExposed(settings)
    _columns_fit(settings.certificates)
    shot(settings, "settings-certificate-list")


def test_login_box_is_compact_keeps_errors_near_fields_and_its_size(gui: Gui, live: LiveService) -> None:
    issue_soft_certificate(gui, live.new_user("hanba", "韩八"))  # the certificate page has a list now
    gui.controller.logout()
    login = gui.controller.login().dialog
    gui.qtbot.waitExposed(login)
    size = login.size()
    bottom = login.account_button.mapTo(login, login.account_button.rect().bottomLeft()).y()
    assert login.height() - bottom < 40  # no empty room under the buttons
    gui.click(login.account_button)  # empty fields: the error shows right under them
    message_top = login.message.mapTo(login, login.message.rect().topLeft()).y()
    captcha_bottom = login.captcha.mapTo(login, login.captcha.rect().bottomLeft()).y()
    assert 0 <= message_top - captcha_bottom < 30 and login.message.text()
    assert login.size() == size
    shot(login, "login-account-page-error")
    login.close()
    gui.menu("登录")
    again = gui.dialog(LoginDialog)
    gui.qtbot.waitExposed(again)
    assert again.size() == size


# -- the demo: the login box at once, the service behind it -------------------------------------


def test_login_box_shows_while_the_service_starts(
    qtbot: Any, live: LiveService, soft_backend: SoftBackend, request: Any
) -> None:
    gui = make_gui(qtbot, live.url, [soft_backend], start=False)
    started = threading.Event()
    gui.model.wait_for_service = lambda: started.wait(30) or None
    gui.model.service_starting = lambda: not started.is_set()
    try:
        scans = gui.controller.scans
        gui.tray.start(splash=False)
        login = gui.dialog(LoginDialog)  # at once, before the service answers
        assert gui.controller.scans >= scans and login.captcha_image.text() == "证书服务正在启动…"
        started.set()
        gui.qtbot.waitUntil(
            lambda: login.captcha_image.pixmap() is not None and not login.captcha_image.pixmap().isNull()
        )
    finally:
        started.set()
        close_gui(gui, request.node.name)


def test_a_flow_runs_and_cancels_on_its_own(qtbot: Any, live: LiveService, soft_backend: SoftBackend) -> None:
    """A flow needs only the shared context: no tray, no controller."""
    from app import flows
    from app.credentials import CredentialCache
    from app.settings import Settings
    from app.ui.certificate_flows import ChangePinFlow
    from app.ui.context import AppContext
    from app.ui.jobs import JobRunner
    from app.ui.model import AppModel
    from app.ui.tray import make_icon
    from tests.gui.live_service import CAPTCHA

    model = AppModel(settings=Settings(service_url=live.url), credentials=CredentialCache(), backends=[soft_backend])
    ctx = AppContext(model, JobRunner(), make_icon())
    try:
        model.inventory = model.scan()
        results: List[bool] = []
        empty = ChangePinFlow(ctx)
        empty.finished.connect(results.append)
        empty.start()  # no certificate yet: it ends at once, with the reason
        assert results == [False] and "没有找到证书" in ctx.prompts.open[-1].text()
        ctx.prompts.close_all()

        user = live.new_user("solo", "独立")
        client = model.new_client()
        captcha = client.captcha()
        client.login_account(user["username"], user["applicant_name"], captcha.captcha_id, CAPTCHA)
        body = live.smtp.inbox.body(live.smtp.inbox.wait_for(user["email"], "审核通过"))
        match = re.search(r"签发码：([A-Z0-9-]{19})", body)
        assert match is not None, body
        client.authorize_issuance(match.group(1))
        flows.issue_soft(client, soft_backend, "solo", PIN, PIN)
        model.inventory = model.scan()

        cancelled = ChangePinFlow(ctx)
        cancelled.finished.connect(results.append)
        cancelled.start()  # the PIN's tries are read off the GUI thread, then the dialog opens
        qtbot.waitUntil(lambda: ctx.dialogs.find(ChangePinDialog) is not None, timeout=30000)
        dialog = ctx.dialogs.find(ChangePinDialog)
        assert dialog is not None and dialog.isVisible() and dialog.tries.text().startswith("剩余 10 次")
        cancelled.cancel()
        assert results == [False, False] and not dialog.isVisible() and not cancelled.running

        done = ChangePinFlow(ctx)
        done.finished.connect(results.append)
        done.start()
        qtbot.waitUntil(lambda: ctx.dialogs.find(ChangePinDialog) is not None, timeout=30000)
        dialog = ctx.dialogs.find(ChangePinDialog)
        assert dialog is not None
        dialog.old_pin.setText(PIN)
        dialog.new_pin.setText("86420135")
        dialog.confirmation.setText("86420135")
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(results) == 3, timeout=30000)
        assert results[-1] is True and "修改PIN码成功" in ctx.prompts.open[-1].text()
    finally:
        ctx.prompts.close_all()
        ctx.dialogs.close_all()
        ctx.jobs.shutdown()


def test_repair_installs_the_root_certificate_where_a_user_trust_store_exists(
    gui: Gui, live: LiveService, tmp_path: Path
) -> None:
    from app.repair import System
    from app.system_repair import user_trust_store
    from app.ui.repair_flow import RepairFlow
    from tests.unit.test_system_repair import make_nss_home

    store = user_trust_store("linux", home=make_nss_home(tmp_path / "home"))
    assert store is not None
    flow = RepairFlow(gui.controller.ctx, System(trust_store=store))
    flow.start()
    repair = flow.dialog
    gui.qtbot.waitUntil(lambda: bool(repair.checks), timeout=30000)
    [root] = [c for c in repair.checks if c.name == "根证书"]
    assert root.outcome.value == "warning" and root.repair is Repair.INSTALL_ROOT_CERTIFICATE
    assert Repair.START_SMARTCARD_SERVICE not in repair.repair_buttons  # nothing offered that is not there
    gui.click(repair.repair_buttons[Repair.INSTALL_ROOT_CERTIFICATE])
    gui.qtbot.waitUntil(
        lambda: any(c.name == "根证书" and c.outcome.value == "ok" for c in repair.checks), timeout=30000
    )
    shot(repair, "repair-root-installed")
    assert flow.report is not None and flow.report.root is not None and store.contains(flow.report.root)
    flow.cancel()


def test_the_card_watcher_starts_off_the_gui_thread(
    qtbot: Any, live: LiveService, soft_backend: SoftBackend, monkeypatch: Any, request: Any
) -> None:
    """Starting the PC/SC card watcher imports pyscard (140-300 ms when the tray starts) and asks the PC/SC
    service for its readers: that belongs on a worker, never on the GUI thread."""
    from drivers.pcsc.monitor import CardWatcher

    started_on: List[threading.Thread] = []
    original = CardWatcher.start

    def start(self: CardWatcher) -> None:
        started_on.append(threading.current_thread())
        original(self)

    monkeypatch.setattr(CardWatcher, "start", start)
    gui = make_gui(qtbot, live.url, [soft_backend])
    try:
        qtbot.waitUntil(lambda: bool(started_on), timeout=10000)
        assert started_on[0] is not threading.main_thread()
    finally:
        close_gui(gui, request.node.name)
