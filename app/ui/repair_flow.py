"""环境修复 as a flow: run the checks, offer the repairs this system has, run one when asked, check again."""

from __future__ import annotations

from typing import Optional

from app.repair import Repair, Report, System, apply_repair, run_checks
from app.settings import ProxyMode
from app.system_repair import RepairFailed
from app.ui.context import AppContext
from app.ui.errors import explain
from app.ui.flow import Flow
from app.ui.i18n import tr
from app.ui.repair_dialog import RepairDialog

REPAIR_QUEUE = "repair"


class RepairFlow(Flow):
    title = "环境修复"

    def __init__(self, ctx: AppContext, system: Optional[System] = None) -> None:
        super().__init__(ctx)
        self.dialog = RepairDialog(ctx.icon)
        self.system = system
        self.report: Optional[Report] = None

    def start(self) -> None:
        self.dialog.repair_requested.connect(self.repair)
        self.dialog.recheck_requested.connect(self.check)
        self.open(self.dialog)
        self.check()

    def check(self) -> None:
        model = self.ctx.model
        model.reset_backends()
        client = model.new_client(timeout=10)
        proxy_in_use = model.settings.proxy_mode != ProxyMode.NONE.value
        given = self.system
        self.dialog.set_checking(tr("正在检查证书助手的运行环境，请稍等…"))

        def job() -> Report:
            try:
                system = given or System.detect(proxy_in_use)
                system.proxy_in_use = proxy_in_use
                return run_checks(model.backends(), client, self.ctx.jobs.report, system)
            finally:
                client.close()

        def done(report: Report) -> None:
            self.report = report
            self.dialog.show_checks(report.checks)
            self.ctx.refresh_requested.emit()

        self.submit(REPAIR_QUEUE, job, done, lambda exc: self.dialog.show_failure(explain(exc).text))

    def repair(self, repair: Repair) -> None:
        """One repair the user asked for, then every check again."""
        if repair is Repair.RESET_PROXY:
            settings = self.ctx.model.settings
            settings.proxy_mode = ProxyMode.NONE.value
            settings.save()
            self.dialog.set_checking(tr("代理设置已重置为「不使用代理」，正在重新检查…"))
            self.check()
            return
        report = self.report
        system = self.system
        self.dialog.set_checking(tr("正在修复，请在系统的提示中确认…"))

        def job() -> None:
            apply_repair(repair, system or System.detect(False), report.root if report else None)

        def failed(exc: BaseException) -> None:
            text = exc.text.render(tr) if isinstance(exc, RepairFailed) else explain(exc).text
            self.dialog.show_failure(text)

        self.submit(REPAIR_QUEUE, job, lambda _none: self.check(), failed)
