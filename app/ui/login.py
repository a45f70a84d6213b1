"""登录: 账号登录 (用户名 / 申请人名称 / 验证码) and 证书登录 (pick a certificate, enter its PIN).

The box is as large as the page shown (no empty room left by the other page), its error line sits
right under the fields it is about, and it has the same size every time it opens.
"""

from __future__ import annotations

from typing import List, Optional

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QIcon, QPixmap
from qtpy.QtWidgets import (
    QDialog,
    QFormLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.entries import CertificateEntry
from app.ui.certificate_list import certificate_tree, fill_certificate_tree, selected_entry
from app.ui.i18n import tr
from app.ui.widgets import PinEdit, app_title, link_button, message_line, row, set_message

ACCOUNT_PAGE, CERTIFICATE_PAGE = 0, 1
WIDTH = 500


class LoginDialog(QDialog):
    captcha_requested = Signal()
    account_submitted = Signal(str, str, str)  # username, applicant name, captcha answer
    certificate_submitted = Signal(object, str)  # CertificateEntry, PIN
    certificate_selected = Signal(object)  # the CertificateEntry chosen on the certificate page (its PIN's tries)

    def __init__(self, icon: QIcon, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(app_title())
        self.setWindowIcon(icon)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        welcome = QLabel(
            f"<b style='font-size:16pt'>{tr('欢迎')}</b>&nbsp;&nbsp;{tr('请登录，以便可以使用证书管理的功能')}"
        )
        self.pages = QStackedWidget()
        self.pages.setMinimumWidth(WIDTH)  # both pages as wide: the certificate list's columns fit
        self.pages.addWidget(self._account_page())
        self.pages.addWidget(self._certificate_page())
        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetFixedSize)  # the size of the page shown
        layout.addWidget(welcome)
        layout.addWidget(self.pages)
        self._busy = False
        self.show_page(ACCOUNT_PAGE)

    # -- pages -----------------------------------------------------------------------------
    def _account_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.username = QLineEdit()
        self.username.setPlaceholderText(tr("请您输入登录用户名"))
        self.applicant = QLineEdit()
        self.applicant.setPlaceholderText(tr("请您输入登录申请人名称"))
        self.captcha = QLineEdit()
        self.captcha.setPlaceholderText(tr("请输入右侧图片中的字符"))
        self.captcha.setMaxLength(8)
        self.captcha_image = QLabel(tr("正在获取验证码…"))
        self.captcha_image.setFixedSize(130, 44)
        self.captcha_image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.captcha_image.setWordWrap(True)
        self.refresh_captcha = link_button(tr("换一张"))
        self.refresh_captcha.clicked.connect(self.captcha_requested.emit)
        form.addRow(tr("用户名"), self.username)
        form.addRow(tr("申请人名称"), self.applicant)
        form.addRow(tr("验证码"), row(self.captcha, self.captcha_image, self.refresh_captcha))
        self.account_message = message_line()
        form.addRow(self.account_message)
        self.account_button = QPushButton(tr("账号登录"))
        self.account_button.setDefault(True)
        self.account_button.clicked.connect(self._submit_account)
        self.to_certificate = link_button(tr("证书登录"))
        self.to_certificate.clicked.connect(lambda: self.show_page(CERTIFICATE_PAGE))
        form.addRow(row(None, self.to_certificate, self.account_button))
        return page

    def _certificate_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.certificates = certificate_tree([])
        self.certificates.setFixedHeight(150)
        self.no_certificates = QLabel(
            tr("没有找到证书。请插入USB Key后点击「刷新」，或先使用账号登录办理「证书签发」。")
        )
        self.no_certificates.setWordWrap(True)
        self.pin = PinEdit(tr("请您输入证书密码"))
        self.certificate_message = message_line()
        self.certificate_button = QPushButton(tr("证书登录"))
        self.certificate_button.clicked.connect(self._submit_certificate)
        self.to_account = link_button(tr("账号登录"))
        self.to_account.clicked.connect(lambda: self.show_page(ACCOUNT_PAGE))
        layout.addWidget(self.certificates)
        layout.addWidget(self.no_certificates)
        self.tries = QLabel()  # 剩余 N 次 of the chosen certificate's device, read before the user types
        self.tries.setWordWrap(True)
        self.certificates.currentItemChanged.connect(lambda *_: self._selected())
        form = QFormLayout()
        form.addRow(tr("PIN码"), self.pin)
        form.addRow(self.tries)
        form.addRow(self.certificate_message)
        layout.addLayout(form)
        layout.addWidget(row(None, self.to_account, self.certificate_button))
        return page

    # -- state -------------------------------------------------------------------------------
    @property
    def message(self) -> QLabel:
        """The error line of the page shown."""
        return self.account_message if self.pages.currentIndex() == ACCOUNT_PAGE else self.certificate_message

    def show_page(self, page: int) -> None:
        for index in range(self.pages.count()):
            widget = self.pages.widget(index)
            assert widget is not None
            policy = QSizePolicy.Policy.Preferred if index == page else QSizePolicy.Policy.Ignored
            widget.setSizePolicy(policy, policy)
        self.pages.setCurrentIndex(page)
        self.account_message.clear()
        self.certificate_message.clear()
        (self.username if page == ACCOUNT_PAGE else self.pin).setFocus()
        self._selected()

    def _selected(self) -> None:
        if self.pages.currentIndex() == CERTIFICATE_PAGE:
            self.tries.clear()
            entry = selected_entry(self.certificates)
            if entry is not None:
                self.certificate_selected.emit(entry)

    def set_entries(self, entries: List[CertificateEntry]) -> None:
        fill_certificate_tree(self.certificates, entries)
        self.no_certificates.setVisible(not entries)
        self.certificates.setVisible(bool(entries))
        self.certificate_button.setEnabled(bool(entries) and not self._busy)

    def captcha_loading(self, service_starting: bool = False) -> None:
        self.captcha_image.setPixmap(QPixmap())
        self.captcha_image.setText(tr("证书服务正在启动…") if service_starting else tr("正在获取验证码…"))

    def set_captcha(self, png: bytes) -> None:
        pixmap = QPixmap()
        pixmap.loadFromData(png, "PNG")
        self.captcha_image.setPixmap(pixmap)
        self.captcha.clear()

    def set_captcha_failed(self) -> None:
        self.captcha_image.setText(tr("获取失败"))

    def captcha_refused(self, text: str) -> None:
        """A wrong or expired captcha: a new picture is on its way; type it into 验证码."""
        self.show_message(text)
        self.captcha.clear()
        self.captcha.setFocus()

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        for widget in (self.account_button, self.certificate_button, self.refresh_captcha):
            widget.setEnabled(not busy)
        if busy:
            self.show_message(tr("正在登录，请稍等…"), error=False)
        else:
            self.certificate_button.setEnabled(self.certificates.topLevelItemCount() > 0)

    def show_message(self, text: str, error: bool = True) -> None:
        set_message(self.message, text, error)

    def _submit_account(self) -> None:
        username, applicant, answer = self.username.text().strip(), self.applicant.text().strip(), self.captcha.text()
        if not username or not applicant:
            self.show_message(tr("请填写用户名和申请人名称（可从审核通过邮件中复制）"))
            (self.applicant if username else self.username).setFocus()
            return
        if not answer.strip():
            self.show_message(tr("请输入验证码"))
            self.captcha.setFocus()
            return
        self.account_submitted.emit(username, applicant, answer.strip())

    def _submit_certificate(self) -> None:
        entry = selected_entry(self.certificates)
        if entry is None:
            self.show_message(tr("请选择要登录的证书"))
            return
        if not self.pin.text():
            self.show_message(tr("请输入证书密码（PIN码）"))
            self.pin.setFocus()
            return
        self.certificate_submitted.emit(entry, self.pin.text())

    def reject(self) -> None:
        if not self._busy:
            super().reject()
