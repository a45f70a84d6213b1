"""签发码: the holder's secret that opens 证书签发 / 证书换发 after 账号登录 (issue 13.3).

The code comes with the account's approval mail (as the guide's approval mail carries a code); the account
password works too. The dialog asks it before the PIN, checks it with the service at once (a wrong one stays
in the dialog) and can have a new code mailed (重新发送签发码).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional

from qtpy.QtGui import QIcon
from qtpy.QtWidgets import QLabel, QLineEdit, QPushButton, QWidget

from app.api_client import ApiError
from app.contract import IssuanceCodeSent
from app.ui.errors import Explanation, explain
from app.ui.flow import Flow
from app.ui.i18n import tr
from app.ui.jobs import NETWORK
from app.ui.model import Login
from app.ui.widgets import FormDialog

SECRET_WRONG = "issuance_secret_wrong"  # noqa: S105 - an error code


class IssuanceCodeDialog(FormDialog):
    """输入签发码: the code from the approval mail (or the account password)."""

    def __init__(self, email: str, icon: QIcon, parent: Optional[QWidget] = None) -> None:
        super().__init__(
            tr("输入签发码"),
            tr("为了保证您的证书安全，签发证书前请输入账号审核通过邮件中的签发码（也可以输入账号密码）。"),
            icon,
            parent,
        )
        self.code = QLineEdit()
        self.code.setPlaceholderText(tr("请您输入签发码或账号密码"))
        self.code.setMaxLength(64)
        self.add_row(tr("签发码"), self.code)
        sent_to = tr("提示：签发码已随审核通过邮件发送到用户注册邮箱")
        if email:
            sent_to += f"（{email}）"
        self.sent_to = QLabel(sent_to)
        self.sent_to.setWordWrap(True)
        self.form.addRow(self.sent_to)
        self.resend_button = QPushButton(tr("重新发送签发码"))
        self.form.addRow(self.resend_button)

    def show_note(self, text: str) -> None:
        self.error_label.setStyleSheet("color: #555;")
        self.error_label.setText(text)


def secret_inline(exc: BaseException, _explanation: Explanation) -> bool:
    """A wrong code stays in the dialog for another try."""
    return isinstance(exc, ApiError) and exc.code == SECRET_WRONG


def ask_issuance_code(flow: Flow, login: Login, then: Callable[[], None]) -> None:
    """Before the PIN: unless this login was opened for issuance already, ask the code and check it."""
    if login.info.issuance_authorized:
        then()
        return
    dialog = IssuanceCodeDialog(login.account.email, flow.ctx.icon)
    client = login.client

    def authorized(_none: object) -> None:
        login.info = replace(login.info, issuance_authorized=True)
        then()

    def submit() -> None:
        secret = dialog.code.text()
        flow.run_in(dialog, NETWORK, lambda: client.authorize_issuance(secret), authorized, inline=secret_inline)

    def resend() -> None:
        dialog.resend_button.setEnabled(False)

        def sent(result: IssuanceCodeSent) -> None:
            dialog.resend_button.setEnabled(True)
            dialog.show_note(tr("新的签发码已发送到 {email}，请查收邮件").format(email=result.email))

        def failed(exc: BaseException) -> None:
            dialog.resend_button.setEnabled(True)
            dialog.show_error(explain(exc).text)

        flow.submit(NETWORK, client.send_issuance_code, sent, failed)

    dialog.submitted.connect(submit)
    dialog.resend_button.clicked.connect(resend)
    flow.open(dialog)
