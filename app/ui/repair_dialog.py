"""环境修复's window: each check, its result, the full explanation, and a repair button where one exists."""

from __future__ import annotations

from typing import Dict, List, Optional

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QIcon
from qtpy.QtWidgets import (
    QDialog,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.repair import Check, Outcome, Repair
from app.ui.i18n import tr, tr_noop
from app.ui.widgets import row

OUTCOME_TEXT = {
    Outcome.OK: tr_noop("正常"),
    Outcome.REPAIRED: tr_noop("已修复"),
    Outcome.INFO: tr_noop("未使用"),
    Outcome.WARNING: tr_noop("注意"),
    Outcome.FAILED: tr_noop("需处理"),
}
REPAIR_TEXT = {
    Repair.START_SMARTCARD_SERVICE: tr_noop("启动智能卡服务"),
    Repair.INSTALL_ROOT_CERTIFICATE: tr_noop("安装根证书"),
    Repair.RESET_PROXY: tr_noop("重置代理设置"),
}
NAME, RESULT, DETAIL, ACTION = range(4)


class RepairDialog(QDialog):
    repair_requested = Signal(object)  # Repair
    recheck_requested = Signal()

    def __init__(self, icon: QIcon, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("环境修复"))
        self.setWindowIcon(icon)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(820, 420)
        self.status = QLabel(tr("正在检查证书助手的运行环境，请稍等…"))
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels([tr("检查项"), tr("结果"), tr("说明"), tr("修复")])
        header = self.table.horizontalHeader()
        for column in (NAME, RESULT, ACTION):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(DETAIL, QHeaderView.ResizeMode.Stretch)
        header.sectionResized.connect(lambda *_: self.table.resizeRowsToContents())
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)  # long explanations in full, over several lines
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.recheck_button = QPushButton(tr("重新检查"))
        self.recheck_button.clicked.connect(self.recheck_requested.emit)
        self.recheck_button.setEnabled(False)
        close = QPushButton(tr("关闭"))
        close.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(row(None, self.recheck_button, close))
        self.checks: List[Check] = []
        self.repair_buttons: Dict[Repair, QPushButton] = {}

    def set_checking(self, text: str) -> None:
        self.status.setText(text)
        self.recheck_button.setEnabled(False)
        for button in self.repair_buttons.values():
            button.setEnabled(False)

    def show_checks(self, checks: List[Check]) -> None:
        self.checks = checks
        self.repair_buttons = {}
        self.table.setRowCount(len(checks))
        for index, check in enumerate(checks):
            self.table.setItem(index, NAME, QTableWidgetItem(tr(check.name)))
            outcome = QTableWidgetItem(tr(OUTCOME_TEXT[check.outcome]))
            if check.outcome in (Outcome.WARNING, Outcome.FAILED):
                outcome.setForeground(Qt.GlobalColor.red)
            self.table.setItem(index, RESULT, outcome)
            text = check.detail.render(tr)
            detail = QTableWidgetItem(text)
            detail.setToolTip(text)
            self.table.setItem(index, DETAIL, detail)
            self.table.removeCellWidget(index, ACTION)
            if check.repair is not None:
                button = QPushButton(tr(REPAIR_TEXT[check.repair]))
                button.clicked.connect(lambda _checked=False, r=check.repair: self.repair_requested.emit(r))
                self.repair_buttons[check.repair] = button
                self.table.setCellWidget(index, ACTION, row(button))
        self.table.resizeRowsToContents()
        self.recheck_button.setEnabled(True)
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
        self.recheck_button.setEnabled(True)
