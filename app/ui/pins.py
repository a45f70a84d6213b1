"""PIN dialogs with the guide's wording: new PIN (soft issuance), existing PIN, 修改PIN码, 证书解锁."""

from __future__ import annotations

from typing import Optional

from qtpy.QtGui import QIcon
from qtpy.QtWidgets import QLabel, QLineEdit, QWidget

from app.ui.i18n import tr
from app.ui.widgets import FormDialog, PinEdit


def tries_line() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    return label


class NewPinDialog(FormDialog):
    """软证书签发: "您是第一次新签证书，需输入新的证书密码…" (6-20, twice)."""

    def __init__(self, icon: QIcon, parent: Optional[QWidget] = None) -> None:
        super().__init__(
            tr("输入证书密码"),
            tr("您是第一次新签证书，需输入新的证书密码，将用于证书以后使用中的验证，请牢记！"),
            icon,
            parent,
        )
        self.pin = PinEdit(tr("请您输入证书密码(6~20位)"))
        self.confirmation = PinEdit(tr("请您再次输入证书密码"))
        self.add_row(tr("证书密码"), self.pin)
        self.add_row(tr("确认密码"), self.confirmation)


class PinDialog(FormDialog):
    """The existing PIN of a certificate (hard-key issuance, 证书登录, 证书更新, 证书废除)."""

    def __init__(self, hint: str, icon: QIcon, parent: Optional[QWidget] = None, device: str = "") -> None:
        super().__init__(tr("输入证书密码"), hint, icon, parent)
        if device:
            self.add_row(tr("证书设备"), QLabel(device))
        self.pin = PinEdit(tr("请您输入证书密码"))
        self.add_row(tr("证书密码"), self.pin)
        self.tries = tries_line()  # 剩余 N 次, read from the device before the dialog opened
        self.form.addRow(self.tries)


class ChangePinDialog(FormDialog):
    def __init__(self, subject: str, icon: QIcon, parent: Optional[QWidget] = None) -> None:
        super().__init__(
            tr("修改用户PIN码"), tr("输入的证书密码是您新的证书密码！将用于证书使用中的验证，请牢记！"), icon, parent
        )
        self.add_row(tr("证书"), QLabel(subject))
        self.old_pin = PinEdit(tr("请您输入证书旧密码"))
        self.new_pin = PinEdit(tr("请您输入证书新密码(6~20位)"))
        self.confirmation = PinEdit(tr("请您确认证书新密码(6~20位)"))
        self.add_row(tr("证书旧密码"), self.old_pin)
        self.tries = tries_line()  # of the old PIN
        self.form.addRow(self.tries)
        self.add_row(tr("证书新密码"), self.new_pin)
        self.add_row(tr("确认新密码"), self.confirmation)


class UnlockDialog(FormDialog):
    """解锁证书密码: new PIN + the unlock code mailed to the registered address."""

    def __init__(self, holder: str, email: str, icon: QIcon, parent: Optional[QWidget] = None) -> None:
        super().__init__(
            tr("解锁证书密码"), tr("输入的证书密码是您新的证书密码！将用于证书使用中的验证，请牢记！"), icon, parent
        )
        self.pin = PinEdit(tr("请您输入证书密码(6~20位)"))
        self.confirmation = PinEdit(tr("请您再次输入证书密码"))
        self.code = QLineEdit()
        self.code.setPlaceholderText(tr("请您输入你获取的解锁码"))
        self.code.setMaxLength(16)
        self.add_row(tr("证书密码"), self.pin)
        self.add_row(tr("确认密码"), self.confirmation)
        self.add_row(tr("解锁码"), self.code)
        sent_to = tr("提示：请到用户注册邮箱查看解锁码")
        if email:
            sent_to += f"（{email}）"
        self.form.addRow(QLabel(sent_to))
        self.form.addRow(QLabel(tr("需解锁用户：{holder}").format(holder=holder)))
