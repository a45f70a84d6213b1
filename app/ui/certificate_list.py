"""The certificate list of 证书登录, 证书列表 and the choosers: 证书使用者 / 颁发者 / 截止日期 (/ 证书设备).

The date and device columns are always shown in full; the issuer column takes the room that is left
and elides (its full text is the tooltip), so no column is cut off at the dialog's edge.
"""

from __future__ import annotations

from typing import List, Optional

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem

from app.entries import CertificateEntry
from app.ui.i18n import tr
from app.ui.labels import device_description, device_label, device_vendor
from drivers.base import Device
from drivers.model import DeviceKind

SUBJECT, ISSUER, NOT_AFTER, DEVICE = range(4)


def certificate_tree(entries: List[CertificateEntry], with_device: bool = False) -> QTreeWidget:
    tree = QTreeWidget()
    headers = [tr("证书使用者"), tr("颁发者"), tr("截止日期")]
    if with_device:
        headers.append(tr("证书设备"))
    tree.setHeaderLabels(headers)
    tree.setRootIsDecorated(False)
    tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    header = tree.header()
    header.setStretchLastSection(False)
    header.setMinimumSectionSize(60)
    for column in range(len(headers)):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(ISSUER, QHeaderView.ResizeMode.Stretch)
    fill_certificate_tree(tree, entries, with_device)
    return tree


def fill_certificate_tree(tree: QTreeWidget, entries: List[CertificateEntry], with_device: bool = False) -> None:
    current = selected_entry(tree)
    tree.clear()
    for entry in entries:
        columns = [entry.subject, entry.issuer, entry.not_after]
        if with_device:
            columns.append(device_label(entry.device.info))
        item = QTreeWidgetItem(columns)
        item.setData(0, Qt.ItemDataRole.UserRole, entry)
        for column, text in enumerate(columns):
            item.setToolTip(column, text)
        if with_device:
            item.setToolTip(DEVICE, device_description(entry.device.info))  # the vendor too
        tree.addTopLevelItem(item)
    chosen: Optional[QTreeWidgetItem] = tree.topLevelItem(0)
    if current is not None:
        for index in range(tree.topLevelItemCount()):
            candidate = tree.topLevelItem(index)
            if candidate is not None and candidate.data(0, Qt.ItemDataRole.UserRole).sign == current.sign:
                chosen = candidate
    if chosen is not None:
        tree.setCurrentItem(chosen)


def selected_entry(tree: QTreeWidget) -> Optional[CertificateEntry]:
    item = tree.currentItem()
    return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None


def device_tree() -> QTreeWidget:
    """证书列表's 证书设备: every USB key and soft certificate found, with its vendor and serial."""
    tree = QTreeWidget()
    tree.setHeaderLabels([tr("证书设备"), tr("厂商"), tr("序列号")])
    tree.setRootIsDecorated(False)
    header = tree.header()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
    return tree


def fill_device_tree(tree: QTreeWidget, devices: List[Device]) -> None:
    tree.clear()
    for device in devices:
        info = device.info
        hard = info.kind is DeviceKind.HARD
        label = tr("USB Key：{label}").format(label=info.label) if hard else device_label(info)
        item = QTreeWidgetItem([label, device_vendor(info) if hard else tr("证书助手"), info.serial])
        item.setData(0, Qt.ItemDataRole.UserRole, device)
        item.setToolTip(0, device_description(info))
        tree.addTopLevelItem(item)
