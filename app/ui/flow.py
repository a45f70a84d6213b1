"""The base of every tray procedure: a named job made of dialogs and background steps.

A flow is started with ``start()`` and ends once, with ``finished(True)`` (done) or ``finished(False)``
(the user closed one of its dialogs or answered 取消, an error ended it, or ``cancel()`` was called).
Work that is already on a device cannot be interrupted half-way; after ``cancel()`` its result is not
shown, but the device list is refreshed so the tray shows what is there now.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QDialog, QLabel, QMessageBox, QWidget

from app import flows
from app.entries import CertificateEntry
from app.flows import ContainerNotRemoved
from app.pin_status import PinStatus, on_factory_pin, read_pin_status
from app.ui.context import AppContext
from app.ui.errors import Explanation, explain
from app.ui.i18n import tr
from app.ui.labels import device_description, device_label
from app.ui.pin_prompt import PinGuard, factory_pin_question
from app.ui.pins import PinDialog
from app.ui.widgets import FormDialog
from drivers.base import Device
from drivers.errors import DeviceRemoved, DriverError, PinLocked

Inline = Callable[[BaseException, Explanation], bool]


def device_queue(device: Device) -> str:
    return f"device:{device.info.device_id}"


def pin_retry(exc: BaseException, explanation: Explanation) -> bool:
    """Errors a PIN dialog keeps (for another try): a wrong or malformed PIN, and a key pulled out (insert it again
    and press 确定: the next attempt resumes where this one stopped)."""
    return explanation.pin_retry or isinstance(exc, (DeviceRemoved, ContainerNotRemoved))


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
        self.pin_used: Optional[Tuple[Device, PinStatus, str]] = None  # the PIN that worked, for succeed()

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
    def _track(self, widget: QWidget) -> None:
        """One of this flow's windows, until Qt deletes it (an answered question is gone before the next step)."""
        self._widgets.append(widget)
        widget.destroyed.connect(lambda *_: self._widgets.remove(widget) if widget in self._widgets else None)

    def open(self, dialog: QDialog, key: str = "") -> QDialog:
        """Show ``dialog`` as this flow's step; closing it (×, Esc, 取消) ends the flow."""
        self._track(dialog)
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
        self._track(box)
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
        """The last word of a flow that worked; then the question for a USB key still on its factory PIN."""
        self.finish(True)
        used, self.pin_used = self.pin_used, None
        self.ctx.announce(message, (lambda: self.offer_pin_change(*used)) if used is not None else None)

    def offer_pin_change(self, device: Device, status: PinStatus, pin: str) -> None:
        """A USB key whose factory PIN just worked is asked (once a run) to change it: 修改PIN码 with that PIN."""
        ctx = self.ctx
        if device.info.device_id in ctx.factory_pin_asked or not on_factory_pin(device.info, status, pin):
            return
        ctx.factory_pin_asked.add(device.info.device_id)
        ctx.prompts.ask(
            factory_pin_question(device_label(device.info)),
            lambda yes: ctx.change_pin_requested.emit(device, pin) if yes else None,
            yes_text=tr("修改PIN码"),
            no_text=tr("稍后"),
        )

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

    def pin_status(self, device: Device, then: Callable[[PinStatus], None]) -> None:
        """Read the PIN's tries off the GUI thread, then ``then(status)``; a locked PIN goes to 证书解锁 instead
        (nothing to type: the device would refuse any PIN)."""

        def read(status: PinStatus) -> None:
            if status.locked:
                self.fail(PinLocked("pin_status"))
            else:
                then(status)

        self.submit(device_queue(device), lambda: read_pin_status(device), read)

    def guard(self, label: QLabel, status: PinStatus, device: Device) -> PinGuard:
        """The tries left of ``device`` shown in ``label``; its ``submit`` confirms the last try first."""
        return PinGuard(self.ctx.prompts, label, status, device_label(device.info))

    def with_pin(
        self,
        hint: str,
        device: Device,
        job: Callable[[str], Any],
        on_done: Callable[[Any], None],
        busy_text: str = "",
        inline: Inline = pin_retry,
    ) -> None:
        """Ask for the PIN of ``device`` (showing its tries left) and run ``job(pin)`` on its queue; a wrong PIN can
        be retyped, the last try is confirmed first."""
        self.pin_status(device, lambda status: self._ask_pin(hint, device, status, job, on_done, busy_text, inline))

    def _ask_pin(
        self,
        hint: str,
        device: Device,
        status: PinStatus,
        job: Callable[[str], Any],
        on_done: Callable[[Any], None],
        busy_text: str,
        inline: Inline,
    ) -> None:
        dialog = PinDialog(hint, self.ctx.icon, device=device_description(device.info))
        guard = self.guard(dialog.tries, status, device)
        left: List[ContainerNotRemoved] = []  # the service's part is done; only the device's removal is left

        def attempt(pin: str) -> Any:
            if left:
                flows.remove_container(device, left[-1].container, pin)
                return left[-1].result
            return job(pin)

        def done(pin: str, value: Any) -> None:
            self.pin_used = (device, status, pin)
            on_done(value)

        def kept(exc: BaseException, explanation: Explanation) -> bool:
            guard.after_error(exc)
            if isinstance(exc, ContainerNotRemoved):
                left.append(exc)
            return inline(exc, explanation)

        def submit() -> None:
            pin = dialog.pin.text()
            guard.submit(
                lambda: self.run_in(
                    dialog, device_queue(device), lambda: attempt(pin), lambda value: done(pin, value), busy_text, kept
                )
            )

        dialog.submitted.connect(submit)
        self.open(dialog)
