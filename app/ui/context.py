"""What every part of the tray shares: the model, the job runner, the open dialogs and message boxes.

The pieces (session, certificate actions, inventory, settings) talk to each other only through this
context's signals, so none of them imports another.
"""

from __future__ import annotations

from typing import Callable, Optional, Set, Union

from qtpy.QtCore import QObject, Signal
from qtpy.QtGui import QIcon

from app.entries import CertificateEntry
from app.ui.dialogs import DialogRegistry
from app.ui.errors import Explanation, NextStep, explain
from app.ui.i18n import tr
from app.ui.jobs import JobRunner
from app.ui.model import AppModel
from app.ui.widgets import BusyWindow, FormDialog, Prompts, app_title


class AppContext(QObject):
    changed = Signal()  # login or inventory changed: menus and pages show the new state
    notify = Signal(str, str)  # title, text: a tray notification
    refresh_requested = Signal()  # devices may have changed (a device error, a finished change)
    login_stale = Signal()  # what the service knows of the login may have changed (刷新, a finished change)
    next_step = Signal(object)  # NextStep: a message box's button for what to do next
    change_pin_requested = Signal(object, str)  # Device, its current PIN: 修改PIN码 for a key on its factory PIN

    def __init__(self, model: AppModel, jobs: JobRunner, icon: QIcon, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.model = model
        self.jobs = jobs
        self.icon = icon
        self.prompts = Prompts(icon)
        self.busy = BusyWindow(icon)
        self.dialogs = DialogRegistry()
        # The certificate the last device operation was about: 证书解锁 offered after a locked PIN uses it.
        self.last_entry: Optional[CertificateEntry] = None
        self.factory_pin_asked: Set[str] = set()  # devices asked this run to leave their factory PIN
        jobs.progress.connect(self._progress)

    def _progress(self, text: str) -> None:
        shown = tr(text)
        if self.busy.isVisible():
            self.busy.show_text(shown)
        for dialog in self.dialogs:
            if isinstance(dialog, FormDialog) and dialog.isVisible() and dialog.busy:
                dialog.set_busy(True, shown)

    def show_error(self, problem: Union[BaseException, Explanation]) -> None:
        explanation = problem if isinstance(problem, Explanation) else explain(problem)
        self.prompts.error(explanation, self.next_step.emit)

    def act(self, step: NextStep) -> None:
        self.next_step.emit(step)

    def announce(self, message: str, then: Optional[Callable[[], None]] = None) -> None:
        """A finished change: a message box, a tray notification and a fresh device list."""
        self.prompts.info(message, then)
        self.notify.emit(app_title(), message)
        self.refresh_requested.emit()
