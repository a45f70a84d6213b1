"""登录: 账号登录 (用户名 / 申请人名称 / 验证码) and 证书登录 (pick a certificate, enter its PIN)."""

from __future__ import annotations

from typing import List, Optional

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QIcon, QPixmap
from qtpy.QtWidgets import (
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.flows import CertificateEntry
from app.ui.i18n import tr
from app.ui.widgets import PinEdit, app_title, link_button, row

ACCOUNT_PAGE, CERTIFICATE_PAGE = 0, 1


def certificate_tree(entries: List[CertificateEntry], with_device: bool = False) -> QTreeWidget:
    tree = QTreeWidget()
    headers = [tr("证书使用者"), tr("颁发者"), tr("截止日期")]
    if with_device:
        headers.append(tr("证书设备"))
    tree.setHeaderLabels(headers)
    tree.setRootIsDecorated(False)
    fill_certificate_tree(tree, entries, with_device)
    return tree


def fill_certificate_tree(tree: QTreeWidget, entries: List[CertificateEntry], with_device: bool = False) -> None:
    tree.clear()
    for entry in entries:
        columns = [entry.subject, entry.issuer, entry.not_after]
        if with_device:
            columns.append(entry.device.info.label)
        item = QTreeWidgetItem(columns)
        item.setData(0, Qt.ItemDataRole.UserRole, entry)
        item.setToolTip(1, entry.issuer)
        tree.addTopLevelItem(item)
    first = tree.topLevelItem(0)
    if first is not None:
        tree.setCurrentItem(first)
    for column in range(tree.columnCount()):
        tree.resizeColumnToContents(column)


def selected_entry(tree: QTreeWidget) -> Optional[CertificateEntry]:
    item = tree.currentItem()
    return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None


class LoginDialog(QDialog):
    captcha_requested = Signal()
    account_submitted = Signal(str, str, str)  # username, applicant name, captcha answer
    certificate_submitted = Signal(object, str)  # CertificateEntry, PIN

    def __init__(self, icon: QIcon, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(app_title())
        self.setWindowIcon(icon)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setMinimumWidth(460)
        welcome = QLabel(
            f"<b style='font-size:16pt'>{tr('欢迎')}</b>&nbsp;&nbsp;{tr('请登录，以便可以使用证书管理的功能')}"
        )
        self.pages = QStackedWidget()
        self.pages.addWidget(self._account_page())
        self.pages.addWidget(self._certificate_page())
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c0392b;")
        self.message.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(welcome)
        layout.addWidget(self.pages)
        layout.addWidget(self.message)
        self._busy = False

    # -- pages -----------------------------------------------------------------------------
    def _account_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.username = QLineEdit()
        self.username.setPlaceholderText(tr("请您输入登录用户名"))
        self.applicant = QLineEdit()
        self.applicant.setPlaceholderText(tr("请您输入登录申请人名称"))
        self.captcha = QLineEdit()
        self.captcha.setPlaceholderText(tr("请输入右侧图片中的字符"))
        self.captcha.setMaxLength(8)
        self.captcha_image = QLabel(tr("正在获取验证码…"))
        self.captcha_image.setMinimumSize(120, 40)
        self.refresh_captcha = link_button(tr("换一张"))
        self.refresh_captcha.clicked.connect(self.captcha_requested.emit)
        form.addRow(tr("用户名"), self.username)
        form.addRow(tr("申请人名称"), self.applicant)
        form.addRow(tr("验证码"), row(self.captcha, self.captcha_image, self.refresh_captcha))
        self.account_button = QPushButton(tr("账号登录"))
        self.account_button.setDefault(True)
        self.account_button.clicked.connect(self._submit_account)
        to_certificate = link_button(tr("证书登录"))
        to_certificate.clicked.connect(lambda: self.show_page(CERTIFICATE_PAGE))
        form.addRow(row(None, to_certificate, self.account_button))
        return page

    def _certificate_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.certificates = certificate_tree([])
        self.no_certificates = QLabel(
            tr("没有找到证书。请插入USB Key后点击「刷新」，或先使用账号登录办理「证书签发」。")
        )
        self.no_certificates.setWordWrap(True)
        self.pin = PinEdit(tr("请您输入证书密码"))
        self.certificate_button = QPushButton(tr("证书登录"))
        self.certificate_button.clicked.connect(self._submit_certificate)
        to_account = link_button(tr("账号登录"))
        to_account.clicked.connect(lambda: self.show_page(ACCOUNT_PAGE))
        layout.addWidget(self.certificates)
        layout.addWidget(self.no_certificates)
        form = QFormLayout()
        form.addRow(tr("PIN码"), self.pin)
        layout.addLayout(form)
        layout.addWidget(row(None, to_account, self.certificate_button))
        return page

    # -- state -------------------------------------------------------------------------------
    def show_page(self, page: int) -> None:
        self.pages.setCurrentIndex(page)
        self.message.hide()

    def set_entries(self, entries: List[CertificateEntry]) -> None:
        current = selected_entry(self.certificates)
        fill_certificate_tree(self.certificates, entries)
        self.no_certificates.setVisible(not entries)
        self.certificate_button.setEnabled(bool(entries) and not self._busy)
        if current is not None:
            for index in range(self.certificates.topLevelItemCount()):
                item = self.certificates.topLevelItem(index)
                if item is not None and item.data(0, Qt.ItemDataRole.UserRole).sign == current.sign:
                    self.certificates.setCurrentItem(item)

    def set_captcha(self, png: bytes) -> None:
        pixmap = QPixmap()
        pixmap.loadFromData(png, "PNG")
        self.captcha_image.setPixmap(pixmap)
        self.captcha.clear()

    def set_captcha_failed(self) -> None:
        self.captcha_image.setText(tr("获取失败"))

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        for widget in (self.account_button, self.certificate_button, self.refresh_captcha):
            widget.setEnabled(not busy)
        if busy:
            self.show_message(tr("正在登录，请稍等…"), error=False)

    def show_message(self, text: str, error: bool = True) -> None:
        self.message.setStyleSheet("color: #c0392b;" if error else "color: #555;")
        self.message.setText(text)
        self.message.show()

    def _submit_account(self) -> None:
        username, applicant, answer = self.username.text().strip(), self.applicant.text().strip(), self.captcha.text()
        if not username or not applicant:
            self.show_message(tr("请填写用户名和申请人名称（可从审核通过邮件中复制）"))
            return
        if not answer.strip():
            self.show_message(tr("请输入验证码"))
            return
        self.account_submitted.emit(username, applicant, answer.strip())

    def _submit_certificate(self) -> None:
        entry = selected_entry(self.certificates)
        if entry is None:
            self.show_message(tr("请选择要登录的证书"))
            return
        if not self.pin.text():
            self.show_message(tr("请输入证书密码（PIN码）"))
            return
        self.certificate_submitted.emit(entry, self.pin.text())

    def reject(self) -> None:
        if not self._busy:
            super().reject()
