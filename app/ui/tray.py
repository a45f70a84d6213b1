"""The tray icon and its right-click menu (rebuilt each time it is shown), the splash, device watching."""

from __future__ import annotations

import logging
from typing import Callable, List, Optional, Tuple

from qtpy.QtCore import QObject, QRectF, Qt, Signal
from qtpy.QtGui import QAction, QColor, QFont, QIcon, QPainter, QPixmap
from qtpy.QtWidgets import QApplication, QLabel, QMenu, QPushButton, QSystemTrayIcon, QVBoxLayout, QWidget

from app.contract import SessionKind
from app.ui.certificate_flows import update_refusal
from app.ui.controller import Controller
from app.ui.i18n import tr
from app.ui.labels import device_description
from app.ui.settings_dialog import ABOUT
from app.ui.widgets import app_title
from drivers.model import DeviceKind

log = logging.getLogger(__name__)


def make_icon() -> QIcon:
    """A red seal with 证 (drawn, so no image file can go missing)."""
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(QColor("#c0392b"))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(QRectF(0, 0, size, size), size * 0.2, size * 0.2)
        painter.setPen(QColor("white"))
        font = QFont()
        font.setPixelSize(int(size * 0.7))
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(QRectF(0, 0, size, size), int(Qt.AlignmentFlag.AlignCenter), "证")
        painter.end()
        icon.addPixmap(pixmap)
    return icon


class Splash(QWidget):
    """正在加载启动数据，请稍等 — with 后台加载 to carry on loading in the background."""

    def __init__(self, icon: QIcon) -> None:
        super().__init__(None, Qt.WindowType.WindowStaysOnTopHint | Qt.WindowType.WindowTitleHint)
        self.setWindowTitle(app_title())
        self.setWindowIcon(icon)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(tr("正在加载启动数据，请稍等")))
        background = QPushButton(tr("后台加载"))
        background.clicked.connect(self.close)
        layout.addWidget(background)


class TrayApp(QObject):
    menu_changed = Signal()  # what the menu shows changed (its next opening, or now if it is open)

    def __init__(self, controller: Controller, tooltip_extra: str = "") -> None:
        super().__init__()
        self.controller = controller
        self.icon = controller.icon
        self.tray = QSystemTrayIcon(self.icon)
        self.tray.setToolTip(app_title() + (f"\n{tooltip_extra}" if tooltip_extra else ""))
        self.menu = QMenu()
        self.menu.setToolTipsVisible(True)
        self.menu.aboutToShow.connect(self.rebuild_menu)
        controller.changed.connect(self._changed)  # a key pulled out while the menu is open leaves it at once
        self.tray.setContextMenu(self.menu)
        self.tray.activated.connect(self._activated)
        controller.notify.connect(self.show_message)
        self.splash: Optional[Splash] = None
        self.rebuild_menu()

    # -- start -------------------------------------------------------------------------------
    def start(self, splash: bool = True) -> None:
        self.tray.show()
        if splash:
            self.splash = Splash(self.icon)
            self.splash.show()
        first = self.controller.scans

        def loaded() -> None:
            if self.controller.scans > first:
                self.controller.changed.disconnect(loaded)
                if self.splash is not None:
                    self.splash.close()
                    self.splash = None
                self.controller.resume_session()
                if self.controller.model.login is None and not self.controller.dialogs:
                    self.controller.login()  # the guide: the login box pops up after start

        self.controller.changed.connect(loaded)
        self.controller.inventory.refresh()
        self.controller.inventory.watch()

    def stop(self) -> None:
        self.controller.inventory.stop()
        self.tray.hide()

    # -- menu --------------------------------------------------------------------------------
    def menu_items(self) -> List[Tuple[str, Callable[[], object], bool, str]]:
        """(text, handler, enabled, why disabled) in the guide's order."""
        c = self.controller
        model = c.model
        login = model.login
        by_account = model.logged_in_as(SessionKind.ACCOUNT)
        by_certificate = model.logged_in_as(SessionKind.CERTIFICATE)
        # an interrupted 证书签发 (its key was pulled out, the network dropped) resumes even once the service issued
        resumable = login is not None and model.inventory.pending_of(login.username) is not None
        may_issue = by_account and login is not None and (login.account.may_receive_new or resumable)
        may_exchange = by_account and login is not None and login.account.exchange_required
        may_update = by_certificate and login is not None and login.info.may_update
        has_certificates = bool(model.inventory.entries)
        has_pins = has_certificates or any(d.info.kind is DeviceKind.HARD for d in model.inventory.devices)
        need_account = tr("请先使用「账号登录」")
        need_certificate = tr("请先使用「证书登录」")
        no_certificate = tr("没有找到证书")
        return [
            (tr("登录"), c.login, True, ""),
            (
                tr("证书签发"),
                c.issue,
                may_issue,
                need_account if not by_account else tr("该账号当前不能签发新证书（需换发或已签发）"),
            ),
            (
                tr("证书换发"),
                c.exchange,
                may_exchange,
                need_account if not by_account else tr("该账号无需换发证书"),
            ),
            (
                tr("证书更新"),
                c.update,
                may_update,
                need_certificate if not by_certificate or login is None else update_refusal(login.info),
            ),
            (tr("证书废除"), c.revoke, by_certificate, need_certificate),
            (tr("证书解锁"), c.unlock, has_certificates, no_certificate),
            (tr("修改PIN码"), c.change_pin, has_pins, tr("没有找到证书或USB Key")),
            (tr("环境修复"), c.repair, True, ""),
            (tr("刷新"), c.refresh, True, ""),
            (tr("关于"), lambda: c.open_settings(page=ABOUT), True, ""),
            (tr("设置"), c.open_settings, True, ""),
            (tr("清除代理登录缓存"), c.clear_proxy_cache, True, ""),
            (tr("退出"), self.quit, True, ""),
        ]

    def device_lines(self) -> List[str]:
        """The USB keys present, as the menu lists them: vendor, label and serial."""
        devices = self.controller.model.inventory.devices
        return [
            tr("USB Key：{device}").format(device=device_description(d.info))
            for d in devices
            if d.info.kind is DeviceKind.HARD
        ]

    def rebuild_menu(self) -> None:
        self.menu.clear()
        login = self.controller.model.login
        if login is not None:
            how = tr("账号登录") if login.kind is SessionKind.ACCOUNT else tr("证书登录")
            header = QAction(f"{login.account.applicant_name}（{how}）", self.menu)
            header.setEnabled(False)
            self.menu.addAction(header)
            self.menu.addSeparator()
        lines = self.device_lines()
        for line in lines:  # shown, not chosen: the key a flow uses is asked in that flow
            action = QAction(line, self.menu)
            action.setEnabled(False)
            self.menu.addAction(action)
        if lines:
            self.menu.addSeparator()
        for text, handler, enabled, why in self.menu_items():
            action = QAction(text, self.menu)
            action.setEnabled(enabled)
            if not enabled and why:
                action.setToolTip(why)
            action.triggered.connect(handler)
            self.menu.addAction(action)
            if text in (tr("修改PIN码"), tr("清除代理登录缓存")):
                self.menu.addSeparator()

    def _changed(self) -> None:
        if self.menu.isVisible():
            self.rebuild_menu()
        self.menu_changed.emit()

    def action(self, text: str) -> QAction:
        """The menu item with this text, as the menu would show it now (for tests and automation)."""
        self.rebuild_menu()
        for action in self.menu.actions():
            if action.text() == text:
                return action
        raise KeyError(text)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.bring_up()

    def bring_up(self) -> None:
        """A click on the icon or a second start: the login box, or the settings when logged in."""
        if self.controller.model.login is None:
            self.controller.login()
        else:
            self.controller.open_settings()

    def show_message(self, title: str, text: str) -> None:
        self.tray.showMessage(title, text, self.icon, 8000)

    def quit(self) -> None:
        def leave() -> None:
            self.stop()
            QApplication.quit()

        if self.controller.jobs.busy():
            self.controller.prompts.confirm(tr("证书助手正在处理操作，现在退出可能中断操作。是否仍要退出？"), leave)
        else:
            leave()
