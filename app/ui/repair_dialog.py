"""环境修复's window: the checks as they finish, each with what was done or what to do."""

from __future__ import annotations

from typing import List, Optional

from qtpy.QtCore import Qt
from qtpy.QtGui import QIcon
from qtpy.QtWidgets import QDialog, QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from app.repair import Check, Outcome
from app.ui.i18n import tr, tr_noop
from app.ui.widgets import row

OUTCOME_TEXT = {
    Outcome.OK: tr_noop("正常"),
    Outcome.REPAIRED: tr_noop("已修复"),
    Outcome.WARNING: tr_noop("注意"),
    Outcome.FAILED: tr_noop("需处理"),
}


class RepairDialog(QDialog):
    def __init__(self, icon: QIcon, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("环境修复"))
        self.setWindowIcon(icon)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(720, 380)
        self.status = QLabel(tr("正在检查证书助手的运行环境，请稍等…"))
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels([tr("检查项"), tr("结果"), tr("说明")])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        close = QPushButton(tr("关闭"))
        close.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(row(None, close))
        self.checks: List[Check] = []

    def show_checks(self, checks: List[Check]) -> None:
        self.checks = checks
        self.table.setRowCount(len(checks))
        for index, check in enumerate(checks):
            self.table.setItem(index, 0, QTableWidgetItem(tr(check.name)))
            outcome = QTableWidgetItem(tr(OUTCOME_TEXT[check.outcome]))
            if check.outcome in (Outcome.WARNING, Outcome.FAILED):
                outcome.setForeground(Qt.GlobalColor.red)
            self.table.setItem(index, 1, outcome)
            detail = QTableWidgetItem(check.detail)
            detail.setToolTip(check.detail)
            self.table.setItem(index, 2, detail)
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()
        bad = sum(c.outcome in (Outcome.WARNING, Outcome.FAILED) for c in checks)
        fixed = sum(c.outcome is Outcome.REPAIRED for c in checks)
        if bad:
            self.status.setText(tr("检查完成：{bad} 项需要注意，请按说明处理。").format(bad=bad))
        else:
            self.status.setText(
                tr("检查完成：运行环境正常。") + (tr("已自动修复 {n} 项。").format(n=fixed) if fixed else "")
            )

    def show_failure(self, text: str) -> None:
        self.status.setText(text)
