"""Shared widgets: message boxes that never block, the busy window, and the form dialog base.

Nothing here calls ``exec()``: every dialog is opened non-modally and reports through signals and
callbacks, so the event loop (and the tray) keeps running and tests can drive the real widgets.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QIcon
from qtpy.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.ui.errors import Explanation, NextStep, next_step_label
from app.ui.i18n import tr


def app_title() -> str:
    return tr("证书助手")


class PinEdit(QLineEdit):
    def __init__(self, placeholder: str, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setEchoMode(QLineEdit.EchoMode.Password)
        self.setMaxLength(64)  # longer than any policy: the policy check gives the clear message
        self.setPlaceholderText(placeholder)
        self.setMinimumWidth(240)


class Prompts:
    """Information, errors and confirmations as non-blocking message boxes (tests find them in ``open``)."""

    def __init__(self, icon: QIcon) -> None:
        self.icon = icon
        self.open: List[QMessageBox] = []

    def _box(self, kind: QMessageBox.Icon, text: str) -> QMessageBox:
        box = QMessageBox(kind, app_title(), text)
        box.setWindowIcon(self.icon)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint)
        self.open.append(box)
        box.finished.connect(lambda _result, b=box: self.open.remove(b) if b in self.open else None)
        return box

    def info(self, text: str, then: Optional[Callable[[], None]] = None) -> QMessageBox:
        box = self._box(QMessageBox.Icon.Information, text)
        box.addButton(tr("确定"), QMessageBox.ButtonRole.AcceptRole)
        if then is not None:
            box.finished.connect(lambda _result: then())
        box.open()
        return box

    def error(self, explanation: Explanation, act: Optional[Callable[[NextStep], None]] = None) -> QMessageBox:
        box = self._box(QMessageBox.Icon.Warning, explanation.text)
        if explanation.detail:  # technical detail (driver and service messages) for a support call
            box.setDetailedText(explanation.detail)
        step = explanation.next_step
        if step is not None and act is not None:
            button = box.addButton(next_step_label(step), QMessageBox.ButtonRole.ActionRole)
            button.clicked.connect(lambda: act(step))
        box.addButton(tr("关闭"), QMessageBox.ButtonRole.RejectRole)
        box.open()
        return box

    def ask(self, text: str, answered: Callable[[bool], None], default_cancel: bool = False) -> QMessageBox:
        """The guide's question with 取消 | 确认 in this order on every platform.

        ``default_cancel`` makes 取消 the button that Enter presses (before an irreversible action).
        """
        box = self._box(QMessageBox.Icon.Question, text)
        # Buttons of one role keep the order they were added in; QMessageBox sorts roles per platform.
        cancel = box.addButton(tr("取消"), QMessageBox.ButtonRole.ActionRole)
        yes = box.addButton(tr("确认"), QMessageBox.ButtonRole.ActionRole)
        box.setEscapeButton(cancel)
        box.setDefaultButton(cancel if default_cancel else yes)
        box.finished.connect(lambda _result: answered(box.clickedButton() is yes))
        box.open()
        return box

    def confirm(self, text: str, then: Callable[[], None], default_cancel: bool = False) -> QMessageBox:
        return self.ask(text, lambda yes: then() if yes else None, default_cancel)

    def close_all(self) -> None:
        for box in list(self.open):
            box.close()


class BusyWindow(QDialog):
    """ "证书助手正在签发证书，请耐心等待": shown while a job runs; it cannot be closed meanwhile."""

    def __init__(self, icon: QIcon) -> None:
        super().__init__(None, Qt.WindowType.WindowTitleHint | Qt.WindowType.WindowStaysOnTopHint)
        self.setWindowTitle(app_title())
        self.setWindowIcon(icon)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setMinimumWidth(320)
        bar = QProgressBar()
        bar.setRange(0, 0)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(bar)

    def show_text(self, text: str) -> None:
        self.label.setText(text)
        self.show()
        self.raise_()

    def reject(self) -> None:  # Esc and the close button do nothing while working
        pass


class FormDialog(QDialog):
    """A titled dialog with a hint, a form, an inline error line and a 确定 button.

    ``submitted`` fires when the user confirms; the owner runs the work and calls ``set_busy`` /
    ``show_error`` / ``accept``. Wrong PINs are shown inline so the user can try again at once.
    """

    submitted = Signal()

    def __init__(self, title: str, hint: str, icon: QIcon, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWindowIcon(icon)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        outer = QVBoxLayout(self)
        if hint:
            self.hint = QLabel(hint)
            self.hint.setWordWrap(True)
            outer.addWidget(self.hint)
        self.form = QFormLayout()
        outer.addLayout(self.form)
        self.error_label = message_line()  # its room is kept, so the fields never move or shrink
        outer.addWidget(self.error_label)
        self.buttons = QDialogButtonBox()
        self.ok_button = self.buttons.addButton(tr("确定"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._submit)
        outer.addWidget(self.buttons)
        self._busy = False

    @property
    def busy(self) -> bool:
        return self._busy

    def add_row(self, label: str, widget: QWidget) -> QWidget:
        self.form.addRow(label, widget)
        return widget

    def _submit(self) -> None:
        if not self._busy:
            self.error_label.clear()
            self.submitted.emit()

    def set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self.ok_button.setEnabled(not busy)
        for child in self.findChildren(QLineEdit):
            child.setEnabled(not busy)
        if busy and text:
            set_message(self.error_label, text, error=False)

    def show_error(self, text: str) -> None:
        self.set_busy(False)
        set_message(self.error_label, text)

    def reject(self) -> None:
        if not self._busy:  # closing while the device works would hide the outcome
            super().reject()


MESSAGE_LINES = 2  # the room an empty message line keeps


def message_line(lines: int = MESSAGE_LINES) -> QLabel:
    """An error or status line that keeps its room (``lines`` high) while empty; fill it with set_message."""
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet("color: #c0392b;")
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    label.setMinimumHeight(label.fontMetrics().lineSpacing() * lines)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
    return label


def set_message(label: QLabel, text: str, error: bool = True) -> None:
    """Show ``text`` in a message line; a text longer than its kept room makes the window taller, never
    the fields around it smaller (the line's width is kept, so the text wraps as the user sees it)."""
    label.setStyleSheet("color: #c0392b;" if error else "color: #555;")
    label.setText(text)
    room = label.fontMetrics().lineSpacing() * MESSAGE_LINES
    needed = label.heightForWidth(label.width()) if label.width() > 0 else room
    label.setMinimumHeight(max(room, needed))
    window = label.window()
    layout = window.layout()
    if layout is not None:
        layout.activate()
        wanted = layout.totalSizeHint().height()
        if window.height() < wanted:
            window.resize(window.width(), wanted)


def row(*widgets: Any) -> QWidget:
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        if widget is None:
            layout.addStretch(1)
        else:
            layout.addWidget(widget)
    return holder


def link_button(text: str) -> QPushButton:
    button = QPushButton(text)
    button.setFlat(True)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setStyleSheet("color: #1a5fb4; text-decoration: underline; border: none;")
    return button
