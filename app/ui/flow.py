"""The base of every tray procedure: a named job made of dialogs and background steps.

A flow is started with ``start()`` and ends once, with ``finished(True)`` (done) or ``finished(False)``
(the user closed one of its dialogs or answered 取消, an error ended it, or ``cancel()`` was called).
Work that is already on a device cannot be interrupted half-way; after ``cancel()`` its result is not
shown, but the device list is refreshed so the tray shows what is there now.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional

from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QDialog, QMessageBox, QWidget

from app.flows import CertificateEntry
from app.ui.context import AppContext
from app.ui.errors import Explanation, explain
from app.ui.i18n import tr
from app.ui.labels import device_label
from app.ui.pins import PinDialog
from app.ui.widgets import FormDialog
from drivers.base import Device
from drivers.errors import DriverError

Inline = Callable[[BaseException, Explanation], bool]


def device_queue(device: Device) -> str:
    return f"device:{device.info.device_id}"


def pin_retry(_exc: BaseException, explanation: Explanation) -> bool:
    return explanation.pin_retry


class Flow(QObject):
    finished = Signal(bool)
    title = ""  # the menu item's text (a tr_noop literal), for logs and for tests that list what runs

    def __init__(self, ctx: AppContext, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.done = False
        self.succeeded = False
        self.working = False  # a step runs in the background (it cannot be interrupted half-way)
        self._widgets: List[QWidget] = []

    # -- life --------------------------------------------------------------------------------
    def start(self) -> None:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return not self.done

    def cancel(self) -> None:
        """End the flow now: its dialogs and questions close; a result that arrives later is not shown."""
        if self.done:
            return
        widgets = list(self._widgets)
        self._end(False)
        for widget in widgets:
            if isinstance(widget, FormDialog):
                widget.set_busy(False)
            widget.close()

    def front(self) -> None:
        """Bring this flow's open dialogs (and the busy window, while it works) to the front."""
        for widget in self._widgets:
            if widget.isVisible():
                widget.raise_()
                widget.activateWindow()
        if self.working and self.ctx.busy.isVisible():
            self.ctx.busy.raise_()

    def finish(self, ok: bool = True) -> None:
        if not self.done:
            self._end(ok)

    def _end(self, ok: bool) -> None:
        self.done = True
        self.succeeded = ok
        self._widgets.clear()
        self.finished.emit(ok)

    # -- dialogs -----------------------------------------------------------------------------
    def open(self, dialog: QDialog, key: str = "") -> QDialog:
        """Show ``dialog`` as this flow's step; closing it (×, Esc, 取消) ends the flow."""
        self._widgets.append(dialog)
        dialog.rejected.connect(self.cancel)
        self.ctx.dialogs.keep(dialog, key)
        return dialog

    def confirm(self, text: str, then: Callable[[], None], default_cancel: bool = False) -> QMessageBox:
        """The guide's question (取消 | 确认); 取消 ends the flow."""

        def answered(yes: bool) -> None:
            if self.done:
                return
            if yes:
                then()
            else:
                self.finish(False)

        box = self.ctx.prompts.ask(text, answered, default_cancel=default_cancel)
        self._widgets.append(box)
        return box

    def info(self, text: str, ok: bool = True) -> None:
        """A last word that ends the flow (a refusal, or the reason it cannot go on)."""
        self.finish(ok)
        self.ctx.prompts.info(text)

    def fail(self, problem: BaseException) -> None:
        self.finish(False)
        self.ctx.show_error(problem)
        if isinstance(problem, DriverError):
            self.ctx.refresh_requested.emit()  # a removed key, a changed PIN state: show what is there now

    def succeed(self, message: str) -> None:
        self.finish(True)
        self.ctx.announce(message)

    def remember(self, entry: CertificateEntry) -> None:
        self.ctx.last_entry = entry

    # -- background steps --------------------------------------------------------------------
    def submit(
        self,
        queue: str,
        job: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Optional[Callable[[BaseException], None]] = None,
    ) -> None:
        """Run ``job`` on ``queue``; its outcome reaches this flow only while it runs."""

        def done(value: Any) -> None:
            if not self.done:
                on_done(value)

        def failed(exc: BaseException) -> None:
            if not self.done:
                (on_error or self.fail)(exc)

        self.ctx.jobs.submit(queue, job, done, failed)

    def run_in(
        self,
        dialog: Optional[FormDialog],
        queue: str,
        job: Callable[[], Any],
        on_done: Callable[[Any], None],
        busy_text: str = "",
        inline: Inline = pin_retry,
    ) -> None:
        """Run ``job`` while ``dialog`` (or the busy window) waits; errors ``inline`` accepts stay in it."""
        busy = self.ctx.busy
        self.working = True
        if dialog is not None:
            dialog.set_busy(True, busy_text or tr("正在处理，请稍等…"))
        elif busy_text:
            busy.show_text(busy_text)

        def done(value: Any) -> None:
            busy.hide()
            if dialog is not None:
                dialog.set_busy(False)
                dialog.accept()
            on_done(value)

        def failed(exc: BaseException) -> None:
            busy.hide()
            explanation = explain(exc)
            if dialog is not None and inline(exc, explanation):
                dialog.show_error(explanation.text)
                return
            self.fail(exc)
            if dialog is not None:
                dialog.set_busy(False)
                dialog.close()

        def dropped(_value: Any) -> None:
            busy.hide()
            self.ctx.refresh_requested.emit()

        def deliver(value: Any) -> None:
            self.working = False
            (dropped if self.done else done)(value)

        def deliver_error(exc: BaseException) -> None:
            self.working = False
            (dropped if self.done else failed)(exc)

        self.ctx.jobs.submit(queue, job, deliver, deliver_error)

    def with_pin(
        self,
        hint: str,
        device: Device,
        job: Callable[[str], Any],
        on_done: Callable[[Any], None],
        busy_text: str = "",
    ) -> PinDialog:
        """Ask for the PIN of ``device`` and run ``job(pin)`` on its queue; a wrong PIN can be retyped."""
        dialog = PinDialog(hint, self.ctx.icon, device=device_label(device.info))

        def submit() -> None:
            pin = dialog.pin.text()
            self.run_in(dialog, device_queue(device), lambda: job(pin), on_done, busy_text)

        dialog.submitted.connect(submit)
        self.open(dialog)
        return dialog
