"""Choosing one certificate or device: skipped when there is only one to choose."""

from __future__ import annotations

from typing import Any, Callable, List, Optional

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QIcon
from qtpy.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from app.flows import CertificateEntry
from app.ui.certificate_list import certificate_tree, selected_entry
from app.ui.flow import Flow
from app.ui.i18n import tr


class ChooseDialog(QDialog):
    """Pick one certificate or device from ``content``; ``chosen`` carries what ``value`` returns."""

    chosen = Signal(object)

    def __init__(
        self,
        title: str,
        hint: str,
        icon: QIcon,
        content: QWidget,
        value: Callable[[], Any],
        parent: Optional[QWidget] = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWindowIcon(icon)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.content = content
        self.value = value
        label = QLabel(hint)
        label.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.ok_button = buttons.addButton(tr("确定"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = buttons.addButton(tr("取消"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(content)
        layout.addWidget(buttons)

    def _accept(self) -> None:
        value = self.value()
        if value is not None:
            self.accept()
            self.chosen.emit(value)


def choose_item(
    flow: Flow,
    title: str,
    hint: str,
    items: List[Any],
    label: Callable[[Any], str],
    then: Callable[[Any], None],
) -> None:
    if len(items) == 1:
        then(items[0])
        return
    listing = QListWidget()
    for item in items:
        row = QListWidgetItem(label(item))
        row.setData(Qt.ItemDataRole.UserRole, item)
        listing.addItem(row)
    listing.setCurrentRow(0)

    def value() -> Any:
        current = listing.currentItem()
        return current.data(Qt.ItemDataRole.UserRole) if current is not None else None

    dialog = ChooseDialog(title, hint, flow.ctx.icon, listing, value)
    dialog.chosen.connect(then)
    flow.open(dialog)


def choose_certificate(flow: Flow, title: str, then: Callable[[CertificateEntry], None]) -> None:
    """The certificate logged in with, the only one there is, or the one the user picks."""
    model = flow.ctx.model
    login = model.login
    if login is not None and login.entry is not None:
        then(login.entry)
        return
    entries = model.inventory.entries
    if not entries:
        flow.info(tr("没有找到证书。请插入USB Key后点击「刷新」。"), ok=False)
    elif len(entries) == 1:
        then(entries[0])
    else:
        tree = certificate_tree(entries, with_device=True)
        dialog = ChooseDialog(title, tr("请选择证书"), flow.ctx.icon, tree, lambda: selected_entry(tree))
        dialog.chosen.connect(then)
        flow.open(dialog)
