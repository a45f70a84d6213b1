"""PIN prompts that prevent lockouts, for every kind of device: the tries left (剩余 N 次) before the user types, a
question before the last try, and a USB key still on its factory PIN asked to change it.

The status is read off the GUI thread (app.pin_status) before a PIN dialog opens; a wrong PIN's answer keeps the
count current while the dialog stays open.
"""

from __future__ import annotations

from typing import Callable, Optional

from qtpy.QtWidgets import QLabel

from app.pin_status import PinStatus
from app.ui.i18n import tr
from app.ui.widgets import Prompts
from drivers.errors import PinIncorrect


def tries_text(status: PinStatus) -> str:
    if status.locked:
        return tr("PIN码已被锁定，请使用「证书解锁」")
    left = status.remaining
    if left is None:
        if status.low:
            return tr("注意：PIN码已多次输错，剩余尝试次数不多，请仔细输入")
        return tr("注意：PIN码连续输错多次后将被锁定")
    if left == 1:
        return tr("剩余 1 次：这是最后一次尝试机会，输错后PIN码将被锁定")
    return tr("剩余 {n} 次：PIN码连续输错 {n} 次后将被锁定").format(n=left)


def last_try_question(device: str) -> str:
    return tr(
        "这是最后一次尝试机会：如果PIN码输错，「{device}」的PIN码将被锁定，需要通过「证书解锁」才能继续使用。"
        "确定要提交吗？"
    ).format(device=device)


def factory_pin_question(device: str) -> str:
    return tr(
        "「{device}」仍在使用出厂默认PIN码，拿到这个USB Key的人都能试出它。为了您的证书安全，请现在修改PIN码。"
    ).format(device=device)


class PinGuard:
    """One dialog's view of a device's PIN: shows the count in ``label`` and guards the last try."""

    def __init__(self, prompts: Prompts, label: QLabel, status: PinStatus, device: str) -> None:
        self.prompts = prompts
        self.label = label
        self.status = status
        self.device = device
        self.show()

    def show(self) -> None:
        warn = self.status.locked or self.status.low or (self.status.remaining or 99) <= 3
        self.label.setStyleSheet("color: #c0392b;" if warn else "color: #555;")
        self.label.setText(tries_text(self.status))

    def update(self, status: PinStatus) -> None:
        self.status = status
        self.show()

    def after_error(self, exc: BaseException) -> None:
        """A wrong PIN: the device said how many tries are left."""
        if isinstance(exc, PinIncorrect) and not exc.admin:
            self.update(self.status.after_wrong(exc.retries_left))

    def submit(self, go: Callable[[], None], cancelled: Optional[Callable[[], None]] = None) -> None:
        """``go`` at once, or after the user confirmed that the last try is meant (取消 is the default answer)."""
        if not self.status.last_try:
            go()
            return

        def answered(yes: bool) -> None:
            if yes:
                go()
            elif cancelled is not None:
                cancelled()

        self.prompts.ask(last_try_question(self.device), answered, default_cancel=True)
