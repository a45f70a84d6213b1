"""登录 and the session: account login, certificate login, logout, and a session resumed from the keyring."""

from __future__ import annotations

import logging
from typing import Optional, Tuple

from qtpy.QtCore import QObject

from app import flows
from app.api_client import ApiError, IssuingClient
from app.contract import Captcha, SessionInfo, SessionKind
from app.entries import CertificateEntry
from app.pin_status import PinStatus, read_pin_status
from app.ui.certificate_list import selected_entry
from app.ui.context import AppContext
from app.ui.errors import Explanation, NextStep, explain
from app.ui.flow import Flow, device_queue
from app.ui.i18n import tr
from app.ui.jobs import NETWORK
from app.ui.login import ACCOUNT_PAGE, CERTIFICATE_PAGE, LoginDialog
from app.ui.model import Login
from app.ui.pin_prompt import PinGuard
from app.ui.widgets import app_title
from drivers.base import Device
from drivers.errors import PinLocked

log = logging.getLogger(__name__)

CAPTCHA_REFUSED = "captcha_invalid"


class LoginFlow(Flow):
    """登录: 账号登录 (用户名 / 申请人名称 / 验证码) or 证书登录 (a certificate and its PIN)."""

    title = "登录"

    def __init__(self, ctx: AppContext, page: int = ACCOUNT_PAGE) -> None:
        super().__init__(ctx)
        self.page = page
        self.client: IssuingClient = ctx.model.new_client()
        self.captcha_id = ""
        self.dialog = LoginDialog(ctx.icon)
        self.tries_guard: Optional[PinGuard] = None  # the chosen certificate's PIN tries, once read

    def start(self) -> None:
        dialog = self.dialog
        dialog.captcha_requested.connect(self.captcha)
        dialog.account_submitted.connect(self.account)
        dialog.certificate_submitted.connect(self.certificate)
        dialog.certificate_selected.connect(self.read_tries)
        dialog.set_entries(self.ctx.model.inventory.entries)
        dialog.show_page(self.page)
        self.open(dialog)
        self.finished.connect(self._closed)
        self.captcha()

    def _closed(self, ok: bool) -> None:
        if not ok:
            self.client.close()

    # -- 账号登录 -------------------------------------------------------------------------------
    def captcha(self) -> None:
        """A new captcha image (a captcha is single-use: every failed attempt gets a new one)."""
        self.dialog.captcha_loading(self.ctx.model.service_starting())

        def shown(captcha: Captcha) -> None:
            self.captcha_id = captcha.captcha_id
            self.dialog.set_captcha(captcha.image_png)

        def failed(exc: BaseException) -> None:
            self.dialog.set_captcha_failed()
            self.dialog.show_message(explain(exc).text)

        self.submit(NETWORK, self.client.captcha, shown, failed)

    def account(self, username: str, applicant: str, answer: str) -> None:
        self.dialog.set_busy(True)
        captcha_id = self.captcha_id
        self.submit(
            NETWORK,
            lambda: self.client.login_account(username, applicant, captcha_id, answer),
            lambda info: self._logged_in(info, None),
            self._account_failed,
        )

    def _account_failed(self, exc: BaseException) -> None:
        self.dialog.set_busy(False)
        if isinstance(exc, ApiError) and exc.code == CAPTCHA_REFUSED:
            self.dialog.captcha_refused(tr("验证码错误或已过期，已换一张新的验证码，请重新输入"))
        else:
            self.dialog.show_message(explain(exc).text)
        self.captcha()

    # -- 证书登录 -------------------------------------------------------------------------------
    def read_tries(self, entry: CertificateEntry) -> None:
        """The chosen certificate's PIN tries, read off the GUI thread and shown under the PIN field."""
        self.tries_guard = None
        device = entry.device

        def read(status: PinStatus) -> None:
            if selected_entry(self.dialog.certificates) is entry:  # still the one chosen
                self.tries_guard = self.guard(self.dialog.tries, status, device)

        self.submit(device_queue(device), lambda: read_pin_status(device), read, lambda _exc: None)

    def certificate(self, entry: CertificateEntry, pin: str) -> None:
        guard = self.tries_guard if selected_entry(self.dialog.certificates) is entry else None
        status = guard.status if guard is not None else PinStatus()

        def failed(exc: BaseException) -> None:
            self.dialog.set_busy(False)
            self.dialog.pin.clear()
            if guard is not None:
                guard.after_error(exc)
            if isinstance(exc, PinLocked):
                self.fail(exc)
                self.dialog.close()
                return
            self.dialog.show_message(explain(exc).text)

        def go() -> None:
            self.dialog.set_busy(True)
            self.remember(entry)
            self.submit(
                device_queue(entry.device),
                lambda: flows.certificate_login(self.client, entry, pin),
                lambda info: self._logged_in(info, entry, (entry.device, status, pin)),
                failed,
            )

        if guard is not None:
            guard.submit(go)
        else:
            go()

    def _logged_in(
        self,
        info: SessionInfo,
        entry: Optional[CertificateEntry],
        used: Optional[Tuple[Device, PinStatus, str]] = None,
    ) -> None:
        self.ctx.model.set_login(Login(info, self.client, entry))
        self.dialog.set_busy(False)
        self.finish(True)
        self.dialog.accept()
        self.ctx.changed.emit()
        self.ctx.notify.emit(app_title(), tr("登录成功：{name}").format(name=info.account.applicant_name))
        if used is not None:
            self.offer_pin_change(*used)


class SessionController(QObject):
    """Who is logged in: opens the login box, ends and resumes sessions, keeps the account's state fresh."""

    def __init__(self, ctx: AppContext, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.flow: Optional[LoginFlow] = None
        ctx.changed.connect(self._entries_changed)
        ctx.login_stale.connect(self.refresh_account)

    def login(self, page: int = ACCOUNT_PAGE) -> LoginFlow:
        if self.flow is not None and self.flow.running:
            self.ctx.dialogs.front(LoginDialog)
            return self.flow
        self.flow = LoginFlow(self.ctx, page)
        self.flow.start()
        return self.flow

    def _entries_changed(self) -> None:
        dialog = self.ctx.dialogs.find(LoginDialog)
        if dialog is not None:
            dialog.set_entries(self.ctx.model.inventory.entries)

    def logout(self) -> None:
        model = self.ctx.model
        login = model.login
        if login is None:
            return
        client = login.client
        model.login = None  # the client is closed after the service forgot the session
        model.credentials.forget_session(model.service_url())
        self.ctx.jobs.submit(NETWORK, client.logout, lambda _value: client.close(), lambda _exc: client.close())
        self.ctx.changed.emit()

    def refresh_account(self) -> None:
        """Ask the service again what this login may do (after 刷新 and after a change)."""
        login = self.ctx.model.login
        if login is None:
            return

        def updated(info: SessionInfo) -> None:
            if self.ctx.model.login is login:
                login.info = info
                self.ctx.changed.emit()

        def failed(exc: BaseException) -> None:
            log.info("account state not refreshed: %s", type(exc).__name__)

        self.ctx.jobs.submit(NETWORK, login.client.me, updated, failed)

    def resume(self) -> None:
        """A session cached in the keyring by an earlier run is used again if the service still knows it."""
        model = self.ctx.model
        token = model.credentials.session(model.service_url())
        if not token:
            return
        client = model.new_client()
        client.token = token

        def resumed(info: SessionInfo) -> None:
            entry = None
            if info.certificate is not None:
                serial = info.certificate.serial
                entry = next((e for e in model.inventory.entries if e.serial == serial), None)
                if entry is None:  # the certificate is not here (any more): not a usable login
                    model.credentials.forget_session(model.service_url())
                    client.close()
                    return
            model.set_login(Login(info, client, entry))
            self.ctx.changed.emit()

        def expired(exc: BaseException) -> None:
            if isinstance(exc, ApiError):
                model.credentials.forget_session(model.service_url())
            client.close()

        self.ctx.jobs.submit(NETWORK, client.me, resumed, expired)

    # -- what a menu item needs ----------------------------------------------------------------
    def require(self, kind: SessionKind, what: str) -> Optional[Login]:
        """The login a menu item needs, or a message that says which login to use first."""
        login = self.ctx.model.login
        if login is not None and login.kind is kind and (kind is SessionKind.ACCOUNT or login.entry is not None):
            return login
        if kind is SessionKind.ACCOUNT:
            text = tr("{what}需要先使用「账号登录」").format(what=what)
        else:
            text = tr("{what}需要先使用「证书登录」").format(what=what)
        self.ctx.show_error(Explanation(text, NextStep.LOGIN))
        if kind is SessionKind.CERTIFICATE and (login is None or login.kind is not SessionKind.CERTIFICATE):
            self.login(page=CERTIFICATE_PAGE)
        return None
