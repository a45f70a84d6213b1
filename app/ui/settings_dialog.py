"""设置: 用户信息, 通用设置, 关于, 证书列表, 代理服务."""

from __future__ import annotations

import platform
import time
from typing import Optional

from qtpy import API_NAME, QT_VERSION
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.contract import SessionKind
from app.settings import InvalidServiceUrl, Language, ProxyMode, Settings, check_proxy_url, check_service_url
from app.ui.certificate_list import (
    certificate_tree,
    device_tree,
    fill_certificate_tree,
    fill_device_tree,
    selected_entry,
)
from app.ui.details import CertificateSummary
from app.ui.i18n import tr
from app.ui.labels import account_type_label
from app.ui.settings_actions import SettingsActions
from app.ui.widgets import row

USER, GENERAL, ABOUT, CERTIFICATES, PROXY = range(5)


def about_text() -> str:
    from importlib.metadata import PackageNotFoundError, version

    from gm._native.libcrypto import libcrypto

    try:
        ours = version("certassist")
    except PackageNotFoundError:
        ours = "dev"
    return tr(
        "<b>证书助手 CertAssist</b> {version}<br>签发、换发、更新、解锁和废除国密SM2双证书（软证书和USB Key）。<br><br>"
        "密码库：{openssl}<br>界面：{qt}<br>系统：{system}"
    ).format(version=ours, openssl=libcrypto().version_text, qt=f"{API_NAME} / Qt {QT_VERSION}", system=_system())


def _system() -> str:
    """The OS, without ``platform.platform()``: on Linux it runs ``uname -p`` in a child process, on the GUI
    thread when 设置 opens (half a second on a busy machine)."""
    return f"{platform.system()} {platform.release()} {platform.machine()}"


class SettingsDialog(QDialog):
    def __init__(self, actions: SettingsActions, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.settings_actions = actions
        self.setWindowTitle(tr("设置"))
        self.setWindowIcon(actions.icon)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(720, 460)
        self.nav = QListWidget()
        self.nav.addItems([tr("用户信息"), tr("通用设置"), tr("关于"), tr("证书列表"), tr("代理服务")])
        self.nav.setFixedWidth(120)
        self.pages = QStackedWidget()
        for build in (self._user_page, self._general_page, self._about_page, self._certificates_page, self._proxy_page):
            self.pages.addWidget(build())
        self.nav.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.nav.setCurrentRow(USER)
        layout = QHBoxLayout(self)
        layout.addWidget(self.nav)
        layout.addWidget(self.pages, 1)
        actions.changed.connect(self.refresh)
        actions.scanning_changed.connect(self._scanning)
        self.refresh()

    def show_page(self, page: int) -> None:
        self.nav.setCurrentRow(page)

    # -- 用户信息 -----------------------------------------------------------------------------
    def _user_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel(tr("这里显示的是客户端工具登录验证时的用户信息")))
        account = QGroupBox(tr("账号信息"))
        account_layout = QVBoxLayout(account)
        self.account_label = QLabel()
        self.account_label.setWordWrap(True)
        self.logout_button = QPushButton(tr("退出登录"))
        self.logout_button.clicked.connect(self.settings_actions.logout)
        account_layout.addWidget(self.account_label)
        account_layout.addWidget(row(self.logout_button, None))
        certificate = QGroupBox(tr("证书信息"))
        certificate_layout = QVBoxLayout(certificate)
        self.summary = CertificateSummary(self.settings_actions.open_certificate)
        certificate_layout.addWidget(self.summary)
        layout.addWidget(account)
        layout.addWidget(certificate)
        layout.addStretch(1)
        return page

    # -- 通用设置 -----------------------------------------------------------------------------
    def _general_page(self) -> QWidget:
        settings = self.settings_actions.model.settings
        page = QWidget()
        form = QFormLayout(page)
        self.autostart = QCheckBox(tr("开机时自动启动证书助手"))
        self.autostart.setChecked(settings.start_with_system)
        self.warning_days = QSpinBox()
        self.warning_days.setRange(1, 365)
        self.warning_days.setSuffix(tr(" 天"))
        self.warning_days.setValue(settings.expiry_warning_days)
        self.language = QComboBox()
        self.language.addItem("简体中文", Language.ZH_CN.value)
        self.language.addItem("English", Language.EN.value)
        self.language.setCurrentIndex(max(0, self.language.findData(settings.language)))
        self.service_url = QLineEdit(settings.service_url)
        self.general_status = QLabel()
        self.general_status.setWordWrap(True)
        self.general_save = QPushButton(tr("保存"))
        self.general_save.clicked.connect(self._save_general)
        form.addRow(self.autostart)
        form.addRow(tr("证书到期提前提醒"), self.warning_days)
        form.addRow(tr("界面语言"), self.language)
        form.addRow(tr("证书服务地址"), self.service_url)
        self._bridge_rows(form, settings)
        form.addRow(self.general_status)
        form.addRow(row(None, self.general_save))
        return page

    def _save_general(self) -> None:
        try:
            url = check_service_url(self.service_url.text())
        except InvalidServiceUrl as exc:
            self.general_status.setText(exc.text.render(tr))
            return
        bridge_problem = self.settings_actions.save_bridge(self.bridge_port.value(), self.bridge_origins.text())
        if bridge_problem:
            self.general_status.setText(bridge_problem)
            return
        problem = self.settings_actions.save_general(
            autostart=self.autostart.isChecked(),
            warning_days=self.warning_days.value(),
            language=str(self.language.currentData()),
            service_url=url,
        )
        self.general_status.setText(problem or tr("设置已保存"))

    def _bridge_rows(self, form: QFormLayout, settings: Settings) -> None:
        """浏览器证书登录: the bridge's loopback port (0: off) and web sites allowed besides the service's."""
        self.bridge_port = QSpinBox()
        self.bridge_port.setRange(0, 65535)
        self.bridge_port.setSpecialValueText(tr("关闭"))
        self.bridge_port.setValue(settings.bridge_port)
        self.bridge_origins = QLineEdit(" ".join(settings.bridge_origins))
        self.bridge_origins.setPlaceholderText(tr("例如 https://portal.example.cn（多个用空格分隔）"))
        self.bridge_state = QLabel(self.settings_actions.bridge_status())
        self.bridge_state.setWordWrap(True)
        form.addRow(tr("浏览器证书登录端口"), self.bridge_port)
        form.addRow(tr("其他允许的网站"), self.bridge_origins)
        form.addRow(self.bridge_state)

    # -- 关于 -------------------------------------------------------------------------------
    def _about_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        label = QLabel(about_text())
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(label)
        layout.addStretch(1)
        return page

    # -- 证书列表 ---------------------------------------------------------------------------
    def _certificates_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.certificates = certificate_tree([], with_device=True)
        self.certificates.currentItemChanged.connect(lambda *_: self._show_selected())
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.devices = device_tree()  # the USB keys (vendor, label, serial) and soft certificates found
        self.devices.setMaximumHeight(90)
        self.list_summary = CertificateSummary(self.settings_actions.open_certificate)
        self.refresh_status = QLabel()
        self.refresh_button = QPushButton(tr("刷新"))
        self.refresh_button.clicked.connect(self.settings_actions.refresh)
        self.backup_button = QPushButton(tr("备份证书"))
        self.backup_button.clicked.connect(lambda: self.settings_actions.backup(selected_entry(self.certificates)))
        self.restore_button = QPushButton(tr("恢复证书"))
        self.restore_button.clicked.connect(self.settings_actions.restore)
        layout.addWidget(self.certificates, 1)
        layout.addWidget(self.devices)
        layout.addWidget(self.problems)
        layout.addWidget(self.list_summary)
        layout.addWidget(row(self.backup_button, self.restore_button, None))
        layout.addWidget(row(self.refresh_status, None, self.refresh_button))
        return page

    def _show_selected(self) -> None:
        self.list_summary.show_entry(
            selected_entry(self.certificates), self.settings_actions.model.settings.expiry_warning_days
        )

    def _scanning(self, scanning: bool) -> None:
        """刷新's feedback: the button waits while devices are read, then says what was found and when."""
        self.refresh_button.setEnabled(not scanning)
        if scanning:
            self.refresh_status.setText(tr("正在刷新…"))
        else:
            self.refresh_status.setText(
                tr("已刷新（{time}）：{n} 张证书").format(
                    time=time.strftime("%H:%M:%S"), n=len(self.settings_actions.model.inventory.entries)
                )
            )

    # -- 代理服务 ---------------------------------------------------------------------------
    def _proxy_page(self) -> QWidget:
        model = self.settings_actions.model
        settings = model.settings
        page = QWidget()
        layout = QVBoxLayout(page)
        self.proxy_none = QRadioButton(tr("不使用代理"))
        self.proxy_system = QRadioButton(tr("使用系统代理设置"))
        self.proxy_http = QRadioButton(tr("使用 HTTP(S) 代理"))
        group = QButtonGroup(page)
        for button in (self.proxy_none, self.proxy_system, self.proxy_http):
            group.addButton(button)
            layout.addWidget(button)
        {
            ProxyMode.NONE.value: self.proxy_none,
            ProxyMode.SYSTEM.value: self.proxy_system,
            ProxyMode.HTTP.value: self.proxy_http,
        }.get(settings.proxy_mode, self.proxy_none).setChecked(True)
        form = QFormLayout()
        self.proxy_url = QLineEdit(settings.proxy_url)
        self.proxy_url.setPlaceholderText("http://proxy.example.com:8080")
        self.proxy_username = QLineEdit(settings.proxy_username)
        self.proxy_password = QLineEdit()
        self.proxy_password.setEchoMode(QLineEdit.EchoMode.Password)
        stored = model.credentials.proxy_password(settings.proxy_url, settings.proxy_username)
        self.proxy_password.setPlaceholderText(tr("（已保存）") if stored else tr("没有密码可不填"))
        form.addRow(tr("代理地址"), self.proxy_url)
        form.addRow(tr("用户名"), self.proxy_username)
        form.addRow(tr("密码"), self.proxy_password)
        layout.addLayout(form)
        where = (
            tr("密码保存在系统密钥环中。")
            if model.credentials.persistent
            else tr("未找到系统密钥环：密码只在本次运行中有效。")
        )
        layout.addWidget(QLabel(where))
        self.proxy_status = QLabel()
        self.proxy_status.setWordWrap(True)
        layout.addWidget(self.proxy_status)
        self.proxy_test_button = QPushButton(tr("测试连接"))
        self.proxy_test_button.clicked.connect(self._test_proxy)
        self.proxy_save_button = QPushButton(tr("保存"))
        self.proxy_save_button.clicked.connect(self._save_proxy)
        layout.addWidget(row(None, self.proxy_test_button, self.proxy_save_button))
        layout.addStretch(1)
        for button in (self.proxy_none, self.proxy_system, self.proxy_http):
            button.toggled.connect(self._proxy_fields)
        self._proxy_fields()
        return page

    def _proxy_mode(self) -> ProxyMode:
        if self.proxy_http.isChecked():
            return ProxyMode.HTTP
        return ProxyMode.SYSTEM if self.proxy_system.isChecked() else ProxyMode.NONE

    def _proxy_fields(self) -> None:
        enabled = self._proxy_mode() is ProxyMode.HTTP
        for widget in (self.proxy_url, self.proxy_username, self.proxy_password):
            widget.setEnabled(enabled)

    def _checked_proxy(self) -> Optional[str]:
        if self._proxy_mode() is not ProxyMode.HTTP:
            return ""
        try:
            return check_proxy_url(self.proxy_url.text())
        except ValueError as exc:
            self.proxy_status.setText(str(exc))
            return None

    def _save_proxy(self) -> None:
        url = self._checked_proxy()
        if url is None:
            return
        self.settings_actions.save_proxy(
            self._proxy_mode(), url, self.proxy_username.text().strip(), self.proxy_password.text()
        )
        self.proxy_password.clear()
        self.proxy_password.setPlaceholderText(tr("（已保存）") if self.proxy_username.text().strip() else "")
        self.proxy_status.setText(tr("代理设置已保存"))

    def _test_proxy(self) -> None:
        url = self._checked_proxy()
        if url is None:
            return
        self.proxy_status.setText(tr("正在测试连接…"))
        self.settings_actions.test_connection(
            self._proxy_mode(),
            url,
            self.proxy_username.text().strip(),
            self.proxy_password.text(),
            self.proxy_status.setText,
        )

    # -- refresh from the model ------------------------------------------------------------
    def refresh(self) -> None:
        model = self.settings_actions.model
        login = model.login
        if login is None:
            self.account_label.setText(tr("未登录"))
        else:
            account = login.account
            how = tr("账号登录") if login.kind is SessionKind.ACCOUNT else tr("证书登录")
            self.account_label.setText(
                tr(
                    "用户名：{username}<br>申请人名称：{name}<br>用户类型：{kind}<br>注册邮箱：{email}<br>登录方式：{how}"
                ).format(
                    username=account.username,
                    name=account.applicant_name,
                    kind=account_type_label(account.account_type),
                    email=account.email,
                    how=how,
                )
            )
        self.logout_button.setEnabled(login is not None)
        shown = login.entry if login is not None and login.entry is not None else None
        if shown is None and model.inventory.entries:
            shown = model.inventory.entries[0]
        self.summary.show_entry(shown, model.settings.expiry_warning_days)
        fill_certificate_tree(self.certificates, model.inventory.entries, with_device=True)
        fill_device_tree(self.devices, model.inventory.devices)
        problems = [problem.render(tr) for problem in model.inventory.problems]
        if not model.inventory.entries and not model.inventory.smartcard_service:
            problems.append(tr("使用USB Key时需要智能卡服务：它没有运行，可在「环境修复」中启动。"))
        self.problems.setText("\n".join(problems))
        self.problems.setVisible(bool(problems))
        self._show_selected()
