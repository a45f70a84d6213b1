"""What the 设置 dialog may do: a small object the dialog talks to, instead of the whole controller."""

from __future__ import annotations

import re
from typing import Callable, Dict, Optional

from qtpy.QtCore import QObject, Signal

from app.api_client import IssuingClient
from app.autostart import set_enabled as set_autostart
from app.bridge.rules import check_origin_entry
from app.contract import CertificateUsage
from app.credentials import proxy_key
from app.entries import CertificateEntry
from app.settings import ProxyMode, check_bridge_port, proxy_with_credentials
from app.ui import i18n
from app.ui.backup_flows import BackupFlow, RestoreFlow
from app.ui.context import AppContext
from app.ui.details import CertificateFieldsDialog
from app.ui.errors import explain
from app.ui.flow import Flow
from app.ui.i18n import tr
from app.ui.inventory import InventoryService
from app.ui.jobs import NETWORK
from app.ui.model import AppModel
from app.ui.session import SessionController


class SettingsActions(QObject):
    changed = Signal()  # the login or the certificates changed: pages show the new state
    bridge_changed = Signal()  # the browser bridge's port or allowed sites changed: it starts again
    scanning_changed = Signal(bool)  # 刷新 runs (True) or finished (False)

    def __init__(
        self,
        ctx: AppContext,
        session: SessionController,
        inventory: InventoryService,
        parent: Optional[QObject] = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.session = session
        self.inventory = inventory
        self.icon = ctx.icon
        self.flows: Dict[type, Flow] = {}
        ctx.changed.connect(self.changed.emit)
        # One line for 通用设置: where the browser bridge listens, or why not (the controller's bridge says)
        self.bridge_status: Callable[[], str] = lambda: ""
        inventory.scanning_changed.connect(self.scanning_changed.emit)

    @property
    def model(self) -> AppModel:
        return self.ctx.model

    # -- 用户信息 / 证书列表 ----------------------------------------------------------------------
    def logout(self) -> None:
        self.session.logout()

    def refresh(self) -> None:
        self.inventory.refresh()
        self.ctx.login_stale.emit()

    def open_certificate(self, entry: CertificateEntry, usage: CertificateUsage) -> None:
        """签名证书详情 / 加密证书详情 (one window of each)."""
        cert = entry.certificate(usage)
        if cert is None:
            return
        open_one = self.ctx.dialogs.find(CertificateFieldsDialog, usage.value)
        if open_one is not None:
            if open_one.cert == cert:
                self.ctx.dialogs.front(CertificateFieldsDialog, usage.value)
                return
            open_one.close()
        self.ctx.dialogs.keep(CertificateFieldsDialog(cert, usage, self.icon), usage.value)

    def _start(self, flow: Flow) -> Flow:
        old = self.flows.get(type(flow))
        if old is not None and old.running:
            if old.working:
                old.front()
                return old
            old.cancel()
        self.flows[type(flow)] = flow
        flow.start()
        return flow

    def backup(self, entry: Optional[CertificateEntry]) -> Optional[Flow]:
        """备份证书 of the selected certificate."""
        if entry is None:
            self.ctx.prompts.info(tr("请先在列表中选择要备份的证书"))
            return None
        return self._start(BackupFlow(self.ctx, entry))

    def restore(self) -> Flow:
        """恢复证书 from a backup file into a new soft keystore."""
        return self._start(RestoreFlow(self.ctx))

    # -- 通用设置 ----------------------------------------------------------------------------
    def save_general(self, autostart: bool, warning_days: int, language: str, service_url: str) -> str:
        """Store the general settings; returns what could not be done (or must be known), else ""."""
        settings = self.model.settings
        problem = ""
        if autostart != settings.start_with_system:
            try:
                set_autostart(autostart)
                settings.start_with_system = autostart
            except OSError as exc:
                problem = tr("无法设置开机启动：{detail}").format(detail=exc.strerror or str(exc))
        if service_url != settings.service_url:
            self.session.logout()
            settings.service_url = service_url
        settings.expiry_warning_days = warning_days
        if language != settings.language:
            settings.language = language
            i18n.install(language)
            problem = problem or tr("语言已切换，重新打开窗口后生效")
        settings.last_expiry_notice = ""  # a new warning period is checked at once
        settings.save()
        self.inventory.check_expiry()
        self.ctx.changed.emit()
        return problem

    def save_bridge(self, port: int, origins_text: str) -> str:
        """浏览器证书登录端口 and 其他允许的网站; returns what is wrong with them (nothing is stored then)."""
        try:
            port = check_bridge_port(port)
            origins = [check_origin_entry(text) for text in re.split(r"[\s,，;；]+", origins_text) if text]
        except ValueError as exc:
            return str(exc)
        settings = self.model.settings
        if port != settings.bridge_port or origins != settings.bridge_origins:
            settings.bridge_port, settings.bridge_origins = port, origins
            settings.save()
            self.bridge_changed.emit()
        return ""

    # -- 代理服务 ----------------------------------------------------------------------------
    def save_proxy(self, mode: ProxyMode, url: str, username: str, password: str) -> None:
        settings = self.model.settings
        settings.proxy_mode = mode.value
        if mode is ProxyMode.HTTP:
            settings.proxy_url, settings.proxy_username = url, username
            if username and password:
                self.model.credentials.set_proxy_password(url, username, password)
        settings.save()

    def test_connection(
        self, mode: ProxyMode, url: str, username: str, password: str, report: Callable[[str], None]
    ) -> None:
        """测试连接 with the settings as typed (not yet saved); ``report`` gets the outcome's text."""
        proxy = None
        if mode is ProxyMode.HTTP:
            password = password or self.model.credentials.proxy_password(url, username) or ""
            proxy = proxy_with_credentials(url, username, password)
        client = IssuingClient(self.model.service_url(), proxy=proxy, timeout=10, system_proxy=mode is ProxyMode.SYSTEM)

        def job() -> str:
            try:
                response = client.health()
            finally:
                client.close()
            if response.status_code == 407:
                return tr("代理服务器要求验证：请检查用户名和密码")
            if response.status_code != 200:
                return tr("证书服务返回 HTTP {status}").format(status=response.status_code)
            return tr("连接成功：{url}").format(url=client.base_url)

        self.ctx.jobs.submit(NETWORK, job, report, lambda exc: report(explain(exc).text))

    def clear_proxy_cache(self) -> None:
        """清除代理登录缓存: after a question, forget proxy passwords and the cached session."""

        def clear() -> None:
            settings = self.model.settings
            self.session.logout()
            self.model.credentials.clear(
                proxy_keys=(proxy_key(settings.proxy_url, settings.proxy_username),),
                service_urls=(self.model.service_url(),),
            )
            self.ctx.prompts.info(tr("代理登录缓存已清除"))

        self.ctx.prompts.confirm(tr("将清除保存的代理密码和登录状态，是否继续？"), clear)
