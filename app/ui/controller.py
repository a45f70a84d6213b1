"""The tray's menu, wired to the pieces that do the work (seed 002, sections 3-9).

- ``AppContext`` (context.py): model, job runner, the open dialogs (by type) and message boxes.
- ``SessionController`` (session.py): 登录, 退出登录, a resumed session, the account's current state.
- ``CertificateActions`` (actions.py): 证书签发/换发/更新/废除/解锁, 修改PIN码, each a named Flow.
- ``InventoryService`` (inventory.py): 刷新, hot-plug watching, expiry warnings.
- ``SettingsActions`` (settings_actions.py): what the 设置 dialog may do.
- ``RepairFlow`` (repair_flow.py): 环境修复.
- ``BridgeService`` (bridge.py): the browser bridge and its 网站证书登录 dialog (web_sign.py).

The GUI thread only opens dialogs and reacts to results; device and network work runs in JobRunner
(one queue per device). Each failure becomes one message with the next step (app.ui.errors).
"""

from __future__ import annotations

from typing import Any, Optional

from qtpy.QtCore import QObject
from qtpy.QtGui import QIcon

from app.ui.actions import CertificateActions
from app.ui.bridge import BridgeService
from app.ui.context import AppContext
from app.ui.dialogs import DialogRegistry
from app.ui.errors import NextStep
from app.ui.inventory import InventoryService
from app.ui.jobs import JobRunner
from app.ui.login import ACCOUNT_PAGE
from app.ui.model import AppModel
from app.ui.repair_flow import RepairFlow
from app.ui.session import LoginFlow, SessionController
from app.ui.settings_actions import SettingsActions
from app.ui.settings_dialog import PROXY, USER, SettingsDialog
from app.ui.widgets import Prompts


class Controller(QObject):
    def __init__(self, model: AppModel, jobs: JobRunner, icon: QIcon, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.ctx = AppContext(model, jobs, icon, self)
        self.inventory = InventoryService(self.ctx, self)
        self.session = SessionController(self.ctx, self)
        self.actions = CertificateActions(self.ctx, self.session, self)
        self.settings_actions = SettingsActions(self.ctx, self.session, self.inventory, self)
        self.repair_flow: Optional[RepairFlow] = None
        self.bridge = BridgeService(self.ctx, self)  # started by the tray's main (tests start their own)
        self.settings_actions.bridge_status = self.bridge.describe
        self.settings_actions.bridge_changed.connect(self.bridge.settings_changed)
        self.ctx.next_step.connect(self.act)
        self.ctx.change_pin_requested.connect(self.actions.change_pin)

    # -- what the tray and tests reach ------------------------------------------------------------
    @property
    def model(self) -> AppModel:
        return self.ctx.model

    @property
    def jobs(self) -> JobRunner:
        return self.ctx.jobs

    @property
    def icon(self) -> QIcon:
        return self.ctx.icon

    @property
    def prompts(self) -> Prompts:
        return self.ctx.prompts

    @property
    def dialogs(self) -> DialogRegistry:
        return self.ctx.dialogs

    @property
    def changed(self) -> Any:  # the context's signal (a bound Qt signal)
        return self.ctx.changed

    @property
    def notify(self) -> Any:
        return self.ctx.notify

    @property
    def scans(self) -> int:
        return self.inventory.scans

    def act(self, step: NextStep) -> None:
        """A message box's next-step button."""
        if step is NextStep.UNLOCK:
            self.actions.unlock(self.ctx.last_entry, confirmed=True)  # the user just chose 证书解锁
        elif step is NextStep.PROXY:
            self.open_settings(page=PROXY)
        elif step is NextStep.LOGIN:
            self.login()
        elif step is NextStep.REPAIR:
            self.repair()

    # -- the menu ---------------------------------------------------------------------------------
    def login(self, page: int = ACCOUNT_PAGE) -> LoginFlow:
        return self.session.login(page)

    def logout(self) -> None:
        self.session.logout()

    def resume_session(self) -> None:
        self.session.resume()

    def issue(self) -> None:
        self.actions.issue()

    def exchange(self) -> None:
        self.actions.exchange()

    def update(self) -> None:
        self.actions.update()

    def revoke(self) -> None:
        self.actions.revoke()

    def unlock(self) -> None:
        self.actions.unlock()

    def change_pin(self) -> None:
        self.actions.change_pin()

    def repair(self) -> RepairFlow:
        if self.repair_flow is not None and self.repair_flow.running:
            self.ctx.dialogs.front(type(self.repair_flow.dialog))
            return self.repair_flow
        self.repair_flow = RepairFlow(self.ctx)
        self.repair_flow.start()
        return self.repair_flow

    def refresh(self) -> None:
        """刷新: devices, certificates and the login's state again, then a notice of what was found."""
        self.inventory.refresh_now()

    def check_expiry(self) -> bool:
        return self.inventory.check_expiry()

    def open_settings(self, page: int = USER) -> SettingsDialog:
        dialog = self.ctx.dialogs.find(SettingsDialog)
        if dialog is None:
            dialog = self.ctx.dialogs.keep(SettingsDialog(self.settings_actions))
        dialog.show_page(page)
        self.ctx.dialogs.front(SettingsDialog)
        return dialog

    def clear_proxy_cache(self) -> None:
        self.settings_actions.clear_proxy_cache()
