"""The certificate list of 证书登录, 证书列表 and the choosers: 证书使用者 / 颁发者 / 截止日期 (/ 证书设备).

The date and device columns are always shown in full; the issuer column takes the room that is left
and elides (its full text is the tooltip), so no column is cut off at the dialog's edge.
"""

from __future__ import annotations

from typing import List, Optional

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem

from app.flows import CertificateEntry
from app.ui.i18n import tr
from app.ui.labels import device_label

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
