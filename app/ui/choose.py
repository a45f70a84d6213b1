"""Choosing one certificate or device: skipped when there is only one to choose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Optional

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QIcon
from qtpy.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from app.entries import CertificateEntry
from app.ui.certificate_list import certificate_tree, selected_entry
from app.ui.flow import Flow
from app.ui.i18n import tr
from app.ui.labels import device_description, device_label
from drivers.base import Device
from drivers.model import DeviceKind


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


@dataclass(frozen=True)
class PinTarget:
    """Whose PIN 修改PIN码 changes: a certificate's device, or a USB key or card that holds no certificate."""

    device: Device
    text: str  # as the dialog names it
    entry: Optional[CertificateEntry] = None


def _target(entry: CertificateEntry) -> PinTarget:
    return PinTarget(entry.device, f"{entry.subject}（{device_label(entry.device.info)}）", entry)


def choose_pin_target(flow: Flow, title: str, then: Callable[[PinTarget], None]) -> None:
    """The certificate logged in with, or one of the certificates and the USB keys without one (a new key still on
    its factory PIN, a smart card whose PIN alone is managed here)."""
    model = flow.ctx.model
    login = model.login
    if login is not None and login.entry is not None:
        then(_target(login.entry))
        return
    entries = model.inventory.entries
    holding = {e.device.info.device_id for e in entries}
    bare = [
        PinTarget(d, device_description(d.info))
        for d in model.inventory.devices
        if d.info.kind is DeviceKind.HARD and d.info.device_id not in holding
    ]
    if not bare:
        choose_certificate(flow, title, lambda entry: then(_target(entry)))
    elif not entries and len(bare) == 1:
        then(bare[0])
    else:
        targets = [_target(e) for e in entries] + bare
        choose_item(flow, title, tr("请选择要修改PIN码的证书或USB Key"), targets, lambda t: t.text, then)
