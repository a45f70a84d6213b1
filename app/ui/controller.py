"""Every menu item of 证书助手 as a sequence of dialogs and background jobs (seed 002, sections 3-9).

The GUI thread only opens dialogs and reacts to results; device and network work runs in JobRunner
(one queue per device). Each failure becomes one message with the next step (app.ui.errors).
"""

from __future__ import annotations

import datetime
import logging
from typing import Any, Callable, Dict, List, Optional

from qtpy.QtCore import QObject, Qt, Signal
from qtpy.QtGui import QIcon
from qtpy.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import flows
from app.api_client import ApiError, IssuingClient
from app.autostart import set_enabled as set_autostart
from app.credentials import proxy_key
from app.flows import CertificateEntry
from app.repair import run_checks
from app.settings import ProxyMode, proxy_with_credentials
from app.ui import i18n
from app.ui.details import CertificateFieldsDialog
from app.ui.errors import Explanation, NextStep, explain
from app.ui.i18n import tr
from app.ui.jobs import DISCOVERY, NETWORK, JobRunner
from app.ui.login import CERTIFICATE_PAGE, LoginDialog, certificate_tree, selected_entry
from app.ui.model import AppModel, Inventory, Login, LoginKind
from app.ui.pins import ChangePinDialog, NewPinDialog, PinDialog, UnlockDialog
from app.ui.repair_dialog import RepairDialog
from app.ui.settings_dialog import PROXY, SettingsDialog
from app.ui.widgets import BusyWindow, FormDialog, Prompts, app_title
from drivers.base import Device
from drivers.errors import DriverError, PinLocked
from drivers.model import Capability, DeviceKind
from drivers.soft import SoftBackend

log = logging.getLogger(__name__)

SOFT_QUEUE = "soft:new"  # a new soft keystore has no device id yet


def device_queue(device: Device) -> str:
    return f"device:{device.info.device_id}"


class ChooseDialog(QDialog):
    """Pick one certificate or device from ``content``; ``chosen`` carries what ``value`` returns."""

    chosen = Signal(object)

    def __init__(
        self,
        title: str,
        hint: str,
        icon: QIcon,
        content: QWidget,
        value: Callable[[], Any],
        parent: Optional[QWidget] = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWindowIcon(icon)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.value = value
        label = QLabel(hint)
        label.setWordWrap(True)
        buttons = QDialogButtonBox()
        buttons.addButton(tr("确定"), QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(tr("取消"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(content)
        layout.addWidget(buttons)

    def _accept(self) -> None:
        value = self.value()
        if value is not None:
            self.accept()
            self.chosen.emit(value)


class Controller(QObject):
    changed = Signal()  # login or inventory changed: the menu is rebuilt when next shown
    notify = Signal(str, str)  # title, text: a tray notification

    def __init__(self, model: AppModel, jobs: JobRunner, icon: QIcon, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.model = model
        self.jobs = jobs
        self.icon = icon
        self.prompts = Prompts(icon)
        self.busy = BusyWindow(icon)
        self.dialogs: Dict[str, QWidget] = {}
        self.scans = 0  # finished inventory scans (tests wait on it)
        self._scanning = False
        self._rescan = False
        self._last_entry: Optional[CertificateEntry] = None
        jobs.progress.connect(self._progress)

    # -- plumbing ----------------------------------------------------------------------------
    def _progress(self, text: str) -> None:
        shown = tr(text)
        if self.busy.isVisible():
            self.busy.show_text(shown)
        for dialog in self.dialogs.values():
            if isinstance(dialog, FormDialog) and dialog.isVisible() and dialog.busy:
                dialog.set_busy(True, shown)

    def _keep(self, name: str, dialog: QWidget) -> QWidget:
        """One dialog of each kind at a time; a second request brings the first to the front."""
        self.dialogs[name] = dialog

        def forget(*_args: Any) -> None:
            if self.dialogs.get(name) is dialog:
                del self.dialogs[name]

        dialog.destroyed.connect(forget)
        if isinstance(dialog, QDialog):
            dialog.finished.connect(forget)  # closed: gone from the bookkeeping before Qt deletes it
        self._front(name)
        return dialog

    def _front(self, name: str) -> bool:
        dialog = self.dialogs.get(name)
        if dialog is None:
            return False
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return True

    def act(self, step: NextStep) -> None:
        if step is NextStep.UNLOCK:
            self.unlock(self._last_entry)
        elif step is NextStep.PROXY:
            self.open_settings(page=PROXY)
        elif step is NextStep.LOGIN:
            self.login()
        elif step is NextStep.REPAIR:
            self.repair()

    def show_error(self, exc: BaseException) -> None:
        self.prompts.error(explain(exc), self.act)

    def _run(
        self,
        queue: str,
        job: Callable[[], Any],
        on_done: Callable[[Any], None],
        dialog: Optional[FormDialog] = None,
        busy_text: str = "",
        inline: Callable[[BaseException, Explanation], bool] = lambda _exc, ex: ex.pin_retry,
    ) -> None:
        """Run ``job`` on ``queue``; errors that ``inline`` accepts stay in ``dialog`` for another try."""
        if dialog is not None:
            dialog.set_busy(True, busy_text or tr("正在处理，请稍等…"))
        elif busy_text:
            self.busy.show_text(busy_text)

        def done(value: Any) -> None:
            self.busy.hide()
            if dialog is not None:
                dialog.set_busy(False)
                dialog.accept()
            on_done(value)

        def failed(exc: BaseException) -> None:
            self.busy.hide()
            explanation = explain(exc)
            if dialog is not None and inline(exc, explanation):
                dialog.show_error(explanation.text)
                return
            if dialog is not None:
                dialog.set_busy(False)
                dialog.close()
            self.prompts.error(explanation, self.act)
            if isinstance(exc, DriverError):
                self.refresh()  # a removed key, a changed PIN state: show what is there now

        self.jobs.submit(queue, job, done, failed)

    # -- inventory -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """刷新: discover devices and certificates again (in the background)."""
        if self._scanning:
            self._rescan = True
            return
        self._scanning = True
        self.jobs.submit(DISCOVERY, self.model.scan, self._scanned, self._scan_failed)

    def _scanned(self, inventory: Inventory) -> None:
        self.model.inventory = inventory
        login = self.model.login
        if login is not None and login.entry is not None:
            login.entry = self.model.entry_after_refresh(login.entry) or login.entry
        self._scan_finished()
        self.check_expiry()

    def _scan_failed(self, exc: BaseException) -> None:
        log.warning("device scan failed: %s", type(exc).__name__)
        self.model.inventory = Inventory(problems=[explain(exc).text])
        self._scan_finished()

    def _scan_finished(self) -> None:
        self._scanning = False
        self.scans += 1
        login_dialog = self.dialogs.get("login")
        if isinstance(login_dialog, LoginDialog):
            login_dialog.set_entries(self.model.inventory.entries)
        self.changed.emit()
        if self._rescan:
            self._rescan = False
            self.refresh()

    def check_expiry(self, today: Optional[datetime.date] = None) -> bool:
        """At most one notification a day for certificates within the warning period."""
        settings = self.model.settings
        today = today or datetime.date.today()
        expiring = [e for e in self.model.inventory.entries if e.days_left <= settings.expiry_warning_days]
        if not expiring or settings.last_expiry_notice == today.isoformat():
            return False
        soonest = min(expiring, key=lambda e: e.days_left)
        if soonest.days_left < 0:
            text = tr("您的证书（{subject}）已过期，请使用「证书更新」续期").format(subject=soonest.subject)
        else:
            text = tr("检查到您的证书还有:{days}天就要过期，请及时使用「证书更新」续期（{subject}）").format(
                days=soonest.days_left, subject=soonest.subject
            )
        settings.last_expiry_notice = today.isoformat()
        try:
            settings.save()
        except OSError as exc:
            log.warning("could not save the settings: %s", exc)
        self.notify.emit(tr("证书即将过期"), text)
        return True

    # -- 登录 ---------------------------------------------------------------------------------------
    def login(self, page: int = 0) -> None:
        if self._front("login"):
            return
        dialog = LoginDialog(self.icon)
        client = self.model.new_client()
        state: Dict[str, str] = {}

        def captcha() -> None:
            def shown(result: Any) -> None:
                state["captcha_id"], png = result
                dialog.set_captcha(png)

            def failed(exc: BaseException) -> None:
                dialog.set_captcha_failed()
                dialog.show_message(explain(exc).text)

            self.jobs.submit(NETWORK, client.captcha, shown, failed)

        def logged_in(result: Any) -> None:
            data, entry = result
            kind = LoginKind.CERTIFICATE if entry is not None else LoginKind.ACCOUNT
            self.model.set_login(Login(kind, data["account"], client, entry))
            dialog.set_busy(False)
            dialog.accept()
            self.changed.emit()
            self.notify.emit(app_title(), tr("登录成功：{name}").format(name=data["account"]["applicant_name"]))

        def account_failed(exc: BaseException) -> None:
            dialog.set_busy(False)
            dialog.show_message(explain(exc).text)
            captcha()  # a captcha is single-use: every failed attempt gets a new one

        def account(username: str, applicant: str, answer: str) -> None:
            dialog.set_busy(True)

            def job() -> Any:
                return client.login_account(username, applicant, state.get("captcha_id", ""), answer), None

            self.jobs.submit(NETWORK, job, logged_in, account_failed)

        def certificate(entry: CertificateEntry, pin: str) -> None:
            dialog.set_busy(True)
            self._last_entry = entry

            def failed(exc: BaseException) -> None:
                dialog.set_busy(False)
                dialog.pin.clear()
                explanation = explain(exc)
                if isinstance(exc, PinLocked):
                    dialog.close()
                    self.prompts.error(explanation, self.act)
                    self.refresh()
                    return
                dialog.show_message(explanation.text)

            self.jobs.submit(
                device_queue(entry.device),
                lambda: (flows.certificate_login(client, entry, pin), entry),
                logged_in,
                failed,
            )

        dialog.captcha_requested.connect(captcha)
        dialog.account_submitted.connect(account)
        dialog.certificate_submitted.connect(certificate)
        dialog.set_entries(self.model.inventory.entries)
        dialog.show_page(page)
        self._keep("login", dialog)
        captcha()

    def logout(self) -> None:
        login = self.model.login
        if login is None:
            return
        client = login.client
        self.model.login = None  # the client is closed after the service forgot the session
        self.model.credentials.forget_session(self.model.service_url())

        def closed(_value: Any) -> None:
            client.close()

        self.jobs.submit(NETWORK, client.logout, closed, lambda _exc: client.close())
        self.changed.emit()

    def resume_session(self) -> None:
        """A session cached in the keyring by an earlier run is used again if the service still knows it."""
        token = self.model.credentials.session(self.model.service_url())
        if not token:
            return
        client = self.model.new_client()
        client.token = token

        def resumed(me: Dict[str, Any]) -> None:
            entry = None
            certificate = me.get("certificate")
            if certificate:
                entry = next(
                    (e for e in self.model.inventory.entries if f"{e.sign.serial_number:X}" == certificate["serial"]),
                    None,
                )
                if entry is None:  # the certificate is not here (any more): not a usable login
                    self.model.credentials.forget_session(self.model.service_url())
                    return
            kind = LoginKind.CERTIFICATE if entry is not None else LoginKind.ACCOUNT
            self.model.set_login(Login(kind, me["account"], client, entry))
            self.changed.emit()

        def expired(exc: BaseException) -> None:
            if isinstance(exc, ApiError):
                self.model.credentials.forget_session(self.model.service_url())
            client.close()

        self.jobs.submit(NETWORK, client.me, resumed, expired)

    # -- helpers for the flows ----------------------------------------------------------------------
    def _account_login(self, what: str) -> Optional[Login]:
        login = self.model.login
        if login is None or login.kind is not LoginKind.ACCOUNT:
            self.prompts.error(
                Explanation(tr("{what}需要先使用「账号登录」").format(what=what), NextStep.LOGIN), self.act
            )
            return None
        return login

    def _certificate_login(self, what: str) -> Optional[Login]:
        login = self.model.login
        if login is None or login.kind is not LoginKind.CERTIFICATE or login.entry is None:
            self.prompts.error(
                Explanation(tr("{what}需要先使用「证书登录」").format(what=what), NextStep.LOGIN), self.act
            )
            if login is None or login.kind is not LoginKind.CERTIFICATE:
                self.login(page=CERTIFICATE_PAGE)
            return None
        return login

    def _soft_backend(self) -> SoftBackend:
        for backend in self.model.backends():
            if isinstance(backend, SoftBackend):
                return backend
        raise DriverError("soft keystore backend missing")

    def _choose(
        self, title: str, hint: str, items: List[Any], label: Callable[[Any], str], then: Callable[[Any], None]
    ) -> None:
        if len(items) == 1:
            then(items[0])
            return
        listing = QListWidget()
        for item in items:
            row = QListWidgetItem(label(item))
            row.setData(Qt.ItemDataRole.UserRole, item)
            listing.addItem(row)
        listing.setCurrentRow(0)

        def value() -> Any:
            current = listing.currentItem()
            return current.data(Qt.ItemDataRole.UserRole) if current is not None else None

        self._open_chooser(ChooseDialog(title, hint, self.icon, listing, value), then)

    def _choose_certificate(self, title: str, then: Callable[[CertificateEntry], None]) -> None:
        login = self.model.login
        if login is not None and login.entry is not None:
            then(login.entry)
            return
        entries = self.model.inventory.entries
        if not entries:
            self.prompts.info(tr("没有找到证书。请插入USB Key后点击「刷新」。"))
        elif len(entries) == 1:
            then(entries[0])
        else:
            tree = certificate_tree(entries, with_device=True)
            self._open_chooser(
                ChooseDialog(title, tr("请选择证书"), self.icon, tree, lambda: selected_entry(tree)), then
            )

    def _open_chooser(self, dialog: ChooseDialog, then: Callable[[Any], None]) -> None:
        dialog.chosen.connect(then)
        self._keep("choose", dialog)

    def _with_pin(
        self,
        hint: str,
        device: Device,
        job: Callable[[str], Any],
        on_done: Callable[[Any], None],
        busy_text: str = "",
    ) -> PinDialog:
        """Ask for the PIN of ``device`` and run ``job(pin)`` on its queue; a wrong PIN can be retyped."""
        dialog = PinDialog(hint, self.icon, device=device.info.label)

        def submit() -> None:
            pin = dialog.pin.text()
            self._run(device_queue(device), lambda: job(pin), on_done, dialog, busy_text)

        dialog.submitted.connect(submit)
        self._keep("pin", dialog)
        return dialog

    def _after_change(self, message: str) -> None:
        self.prompts.info(message)
        self.notify.emit(app_title(), message)
        self.refresh()

    def _refresh_account(self, login: Login) -> None:
        def updated(me: Dict[str, Any]) -> None:
            login.account = me["account"]
            self.changed.emit()

        self.jobs.submit(NETWORK, login.client.me, updated, lambda _exc: None)

    # -- 证书签发 / 证书换发 --------------------------------------------------------------------------
    def issue(self) -> None:
        login = self._account_login(tr("证书签发"))
        if login is not None:
            self.prompts.confirm(
                tr("您正在执行证书签发，是否继续执行？"), lambda: self._new_certificate(login, exchange=False)
            )

    def exchange(self) -> None:
        login = self._account_login(tr("证书换发"))
        if login is None:
            return
        mine = [e for e in self.model.inventory.entries if e.container.startswith(f"{login.username}-")]

        def replace(entry: CertificateEntry) -> None:
            self._last_entry = entry
            self._with_pin(
                tr("证书换发后原证书将被替换，PIN码保持不变。请输入该证书的证书密码！"),
                entry.device,
                lambda pin: flows.exchange(login.client, entry, login.username, pin, self.jobs.report),
                lambda _pair: self._issued(login, tr("证书换发成功")),
                tr("证书助手正在换发证书，请耐心等待"),
            )

        def start() -> None:
            if mine:
                self._choose(
                    tr("证书换发"),
                    tr("请选择要换发的证书"),
                    mine,
                    lambda e: f"{e.subject} - {e.device.info.label}",
                    replace,
                )
            else:
                self._new_certificate(login, exchange=True)

        self.prompts.confirm(tr("您正在执行证书换发，是否继续执行？"), start)

    def _new_certificate(self, login: Login, exchange: bool) -> None:
        soft = tr("软证书（保存在本机）")
        hard = [d for d in self.model.inventory.devices if d.info.kind is DeviceKind.HARD]
        if not hard:
            self._issue_soft(login, exchange)
            return

        def label(item: Any) -> str:
            if isinstance(item, str):
                return item
            ok = item.info.supports(Capability.SM2_KEYGEN)
            return f"USB Key：{item.info.label}" + ("" if ok else tr("（不支持国密SM2）"))

        def chosen(item: Any) -> None:
            if isinstance(item, str):
                self._issue_soft(login, exchange)
            else:
                self._issue_hard(login, item, exchange)

        self._choose(tr("选择证书设备"), tr("请选择新证书保存的位置"), [soft, *hard], label, chosen)

    def _issue_soft(self, login: Login, exchange: bool) -> None:
        dialog = NewPinDialog(self.icon)
        backend = self._soft_backend()

        def job() -> Any:
            return flows.issue_soft(
                login.client,
                backend,
                login.username,
                dialog_values["pin"],
                dialog_values["confirmation"],
                self.jobs.report,
                exchange=exchange,
            )

        dialog_values: Dict[str, str] = {}

        def submit() -> None:
            dialog_values.update(pin=dialog.pin.text(), confirmation=dialog.confirmation.text())
            self._run(
                SOFT_QUEUE,
                job,
                lambda _result: self._issued(login, tr("证书换发成功") if exchange else tr("证书签发操作成功")),
                dialog,
                tr("证书助手正在签发证书，请耐心等待"),
            )

        dialog.submitted.connect(submit)
        self._keep("pin", dialog)

    def _issue_hard(self, login: Login, device: Device, exchange: bool) -> None:
        self._with_pin(
            tr("证书新签时，为了保证您的证书安全，请输入您的证书密码！"),
            device,
            lambda pin: flows.issue_hard(
                login.client, device, login.username, pin, self.jobs.report, exchange=exchange
            ),
            lambda _pair: self._issued(login, tr("证书换发成功") if exchange else tr("证书签发操作成功")),
            tr("证书助手正在签发证书，请耐心等待"),
        )

    def _issued(self, login: Login, message: str) -> None:
        self._refresh_account(login)
        self._after_change(message)

    # -- 证书更新 / 证书废除 ----------------------------------------------------------------------------
    def update(self) -> None:
        login = self._certificate_login(tr("证书更新"))
        if login is None:
            return
        entry = login.entry
        assert entry is not None

        def updated(pair: Any) -> None:
            login.entry = CertificateEntry(entry.device, entry.container, pair.sign, pair.encryption)  # until refresh
            self._refresh_account(login)
            self._after_change(tr("证书更新成功"))

        def start() -> None:
            self._last_entry = entry
            self._with_pin(
                tr("证书更新需要验证您的证书密码，更新后PIN码保持不变"),
                entry.device,
                lambda pin: flows.update(login.client, entry, login.username, pin, self.jobs.report),
                updated,
                tr("证书助手正在更新证书，请耐心等待"),
            )

        self.prompts.confirm(tr("您正在执行证书更新，是否继续执行？"), start)

    def revoke(self) -> None:
        login = self._certificate_login(tr("证书废除"))
        if login is None:
            return
        entry = login.entry
        assert entry is not None

        def revoked(_result: Any) -> None:
            self.model.set_login(None)
            self.changed.emit()
            self._after_change(tr("证书废除成功"))

        def start() -> None:
            self._last_entry = entry
            self._with_pin(
                tr("证书废除后将无法恢复。请输入证书密码确认废除。"),
                entry.device,
                lambda pin: flows.revoke(login.client, entry, pin),
                revoked,
            )

        self.prompts.confirm(
            tr("您正在执行证书废除，废除后该证书将无法再使用，是否继续执行？（{subject}）").format(
                subject=entry.subject
            ),
            start,
        )

    # -- 证书解锁 / 修改PIN码 -------------------------------------------------------------------------
    def unlock(self, entry: Optional[CertificateEntry] = None) -> None:
        def start(chosen: CertificateEntry) -> None:
            self._last_entry = chosen
            self.prompts.confirm(tr("您正在执行证书解锁，是否继续执行？"), lambda: request(chosen))

        def request(chosen: CertificateEntry) -> None:
            client = self.model.new_client()
            self._run(
                NETWORK,
                lambda: flows.unlock_request(client, chosen),
                lambda answer: ask(client, chosen, answer),
                busy_text=tr("正在发送解锁码到注册邮箱，请稍等"),
            )

        def ask(client: IssuingClient, chosen: CertificateEntry, answer: Dict[str, Any]) -> None:
            dialog = UnlockDialog(str(answer.get("holder", chosen.subject)), str(answer.get("email", "")), self.icon)

            def submit() -> None:
                values = (dialog.code.text(), dialog.pin.text(), dialog.confirmation.text())
                self._run(
                    device_queue(chosen.device),
                    lambda: flows.unlock_complete(client, chosen, str(answer["unlock_id"]), *values),
                    lambda _none: self._after_change(tr("解锁成功")),
                    dialog,
                    inline=lambda exc, ex: (
                        ex.pin_retry or (isinstance(exc, ApiError) and exc.code == "unlock_code_wrong")
                    ),
                )

            dialog.submitted.connect(submit)
            self._keep("pin", dialog)

        if entry is not None:
            start(entry)
        else:
            self._choose_certificate(tr("证书解锁"), start)

    def change_pin(self) -> None:
        def start(entry: CertificateEntry) -> None:
            self._last_entry = entry
            dialog = ChangePinDialog(f"{entry.subject}（{entry.device.info.label}）", self.icon)

            def submit() -> None:
                values = (dialog.old_pin.text(), dialog.new_pin.text(), dialog.confirmation.text())
                self._run(
                    device_queue(entry.device),
                    lambda: flows.change_pin(entry, *values),
                    lambda _none: self._after_change(tr("修改PIN码成功")),
                    dialog,
                )

            dialog.submitted.connect(submit)
            self._keep("pin", dialog)

        self._choose_certificate(tr("修改PIN码"), start)

    # -- 环境修复 / 设置 / 清除代理登录缓存 ----------------------------------------------------------------
    def repair(self) -> None:
        if self._front("repair"):
            return
        dialog = RepairDialog(self.icon)
        self._keep("repair", dialog)
        self.model.reset_backends()
        client = self.model.new_client(timeout=10)

        def done(checks: Any) -> None:
            client.close()
            dialog.show_checks(checks)
            self.refresh()

        def failed(exc: BaseException) -> None:
            client.close()
            dialog.show_failure(explain(exc).text)

        self.jobs.submit("repair", lambda: run_checks(self.model.backends(), client, self.jobs.report), done, failed)

    def open_settings(self, page: int = 0) -> None:
        dialog = self.dialogs.get("settings")
        if not isinstance(dialog, SettingsDialog):
            dialog = SettingsDialog(self)
            self.changed.connect(dialog.refresh)
            self._keep("settings", dialog)
        dialog.show_page(page)
        self._front("settings")

    def open_certificate_fields(self, title: str, cert: Any) -> None:
        dialog = CertificateFieldsDialog(title, cert, self.icon)
        self._keep(f"fields:{title}", dialog)

    def save_general(self, autostart: bool, warning_days: int, language: str, service_url: str) -> str:
        settings = self.model.settings
        problem = ""
        if autostart != settings.start_with_system:
            try:
                set_autostart(autostart)
                settings.start_with_system = autostart
            except OSError as exc:
                problem = tr("无法设置开机启动：{detail}").format(detail=str(exc))
        if service_url != settings.service_url:
            self.logout()
            settings.service_url = service_url
        settings.expiry_warning_days = warning_days
        if language != settings.language:
            settings.language = language
            i18n.install(language)
            problem = problem or tr("语言已切换，重新打开窗口后生效")
        settings.last_expiry_notice = ""  # a new warning period is checked at once
        settings.save()
        self.check_expiry()
        self.changed.emit()
        return problem

    def save_proxy(self, mode: ProxyMode, url: str, username: str, password: str) -> None:
        settings = self.model.settings
        settings.proxy_mode = mode.value
        if mode is ProxyMode.HTTP:
            settings.proxy_url, settings.proxy_username = url, username
            if username and password:
                self.model.credentials.set_proxy_password(url, username, password)
        settings.save()

    def test_connection(
        self, mode: ProxyMode, url: str, username: str, password: str, report: Callable[[str], None]
    ) -> None:
        proxy = None
        if mode is ProxyMode.HTTP:
            password = password or self.model.credentials.proxy_password(url, username) or ""
            proxy = proxy_with_credentials(url, username, password)
        client = IssuingClient(self.model.service_url(), proxy=proxy, timeout=10, system_proxy=mode is ProxyMode.SYSTEM)

        def job() -> str:
            try:
                response = client.health()
            finally:
                client.close()
            if response.status_code == 407:
                return tr("代理服务器要求验证：请检查用户名和密码")
            if response.status_code != 200:
                return tr("证书服务返回 HTTP {status}").format(status=response.status_code)
            return tr("连接成功：{url}").format(url=client.base_url)

        self.jobs.submit(NETWORK, job, report, lambda exc: report(explain(exc).text))

    def clear_proxy_cache(self) -> None:
        def clear() -> None:
            settings = self.model.settings
            self.logout()
            self.model.credentials.clear(
                proxy_keys=(proxy_key(settings.proxy_url, settings.proxy_username),),
                service_urls=(self.model.service_url(),),
            )
            self.prompts.info(tr("代理登录缓存已清除"))

        self.prompts.confirm(tr("将清除保存的代理密码和登录状态，是否继续？"), clear)
