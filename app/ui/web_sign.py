"""网站证书登录: a web page asked (through the bridge) to sign its service's login challenge.

The assistant's own dialog names the site (the origin the browser reported) and the certificate, and
asks the PIN; the PIN is used for this one signature only. 取消, closing the dialog and the time limit
refuse the page; a wrong PIN stays in the dialog with the tries left; a locked PIN offers 证书解锁.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Optional

from qtpy.QtCore import QTimer
from qtpy.QtGui import QIcon
from qtpy.QtWidgets import QDialogButtonBox, QLabel, QWidget

from app.bridge.protocol import SignRefused, SignRequest, SignResult
from app.bridge.signing import sign_web_login
from app.entries import CertificateEntry
from app.ui.context import AppContext
from app.ui.flow import Flow, device_queue
from app.ui.i18n import tr
from app.ui.labels import device_label
from app.ui.widgets import FormDialog, PinEdit
from drivers.errors import DriverError, PinLocked


class PendingSign:
    """A page's sign request waiting for the user: the bridge thread waits, the GUI thread answers once."""

    def __init__(self, request: SignRequest) -> None:
        self.request = request
        self._future: Future[SignResult] = Future()
        self._lock = threading.Lock()

    @property
    def answered(self) -> bool:
        return self._future.done()

    def resolve(self, result: SignResult) -> None:
        with self._lock:
            if not self._future.done():
                self._future.set_result(result)

    def refuse(self, code: str, message: str, status: int = 409) -> None:
        with self._lock:
            if not self._future.done():
                self._future.set_exception(SignRefused(code, message, status))

    def wait(self, timeout: float) -> SignResult:
        """On the bridge's thread: the result, or SignRefused (also when the GUI never answered)."""
        try:
            return self._future.result(timeout)
        except FutureTimeout:
            raise SignRefused("timeout", "等待证书助手确认超时，请重试", 408) from None


class WebSignDialog(FormDialog):
    def __init__(self, request: SignRequest, entry: CertificateEntry, icon: QIcon, parent: Optional[QWidget] = None):
        super().__init__(
            tr("网站证书登录"),
            tr(
                "以下网站请求使用您的证书登录。请确认这是您正在访问的网站，再输入证书密码；证书密码只在证书助手中使用，不会交给网站。"
            ),
            icon,
            parent,
        )
        self.site = QLabel(request.origin)
        self.site.setStyleSheet("font-weight: bold;")
        self.add_row(tr("请求网站"), self.site)
        self.add_row(tr("证书使用者"), QLabel(entry.subject))
        self.add_row(tr("颁发者"), QLabel(entry.issuer))
        self.add_row(tr("截止日期"), QLabel(entry.not_after))
        self.add_row(tr("证书设备"), QLabel(device_label(entry.device.info)))
        self.pin = PinEdit(tr("请您输入证书密码"))
        self.add_row(tr("证书密码"), self.pin)
        self.cancel_button = self.buttons.addButton(tr("取消"), QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.rejected.connect(self.reject)
        self.ok_button.setText(tr("登录"))


def refusal_text(problem: BaseException) -> SignRefused:
    """What the page is told when the signing failed (the user sees the tray's own message)."""
    if isinstance(problem, PinLocked):
        return SignRefused("pin_locked", "证书PIN码已锁定，请在证书助手中使用「证书解锁」后重试", 423)
    if isinstance(problem, DriverError):
        return SignRefused("device_error", "证书设备无法完成签名，请查看证书助手的提示", 502)
    return SignRefused("sign_failed", "证书助手未能完成签名，请查看证书助手的提示", 500)


class WebSignFlow(Flow):
    title = "网站证书登录"

    def __init__(self, ctx: AppContext, entry: CertificateEntry, pending: PendingSign, timeout_s: float) -> None:
        super().__init__(ctx)
        self.entry = entry
        self.pending = pending
        self.timed_out = False
        self.dialog = WebSignDialog(pending.request, entry, ctx.icon)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(int(timeout_s * 1000))
        self.timer.timeout.connect(self._time_up)

    def start(self) -> None:
        self.dialog.submitted.connect(self._submit)
        self.finished.connect(self._finished)
        self.open(self.dialog, key=self.pending.request.origin)
        self.timer.start()

    def _submit(self) -> None:
        pin = self.dialog.pin.text()
        self.dialog.pin.clear()  # a retry is typed afresh; the PIN is kept nowhere
        self.remember(self.entry)  # 证书解锁 offered after a locked PIN is about this certificate
        request, entry = self.pending.request, self.entry
        self.run_in(
            self.dialog,
            device_queue(entry.device),
            lambda: sign_web_login(entry, pin, request),
            self._signed,
            tr("正在签名，请稍等…"),
        )

    def _signed(self, result: SignResult) -> None:
        self.pending.resolve(result)
        self.finish(True)

    def _time_up(self) -> None:
        if self.working:  # the device is signing: its answer decides
            return
        self.timed_out = True
        self.cancel()

    def fail(self, problem: BaseException) -> None:
        refused = refusal_text(problem)
        self.pending.refuse(refused.code, refused.message, refused.status)
        super().fail(problem)

    def _finished(self, ok: bool) -> None:
        self.timer.stop()
        if ok:
            return
        if self.timed_out:
            self.pending.refuse("timeout", "证书助手中的确认已超时，请重新点击登录", 408)
        else:
            self.pending.refuse("cancelled", "您已在证书助手中取消了本次登录", 409)
