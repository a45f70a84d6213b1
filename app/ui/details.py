"""证书信息: the summary of a certificate pair, and 签名证书详情 / 加密证书详情 with export as .cer."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from qtpy.QtCore import QStandardPaths, Qt
from qtpy.QtGui import QIcon
from qtpy.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.contract import CertificateUsage
from app.entries import CertificateEntry
from app.ui.i18n import tr, tr_noop
from app.ui.labels import device_description
from app.ui.widgets import row
from gm.x509 import Certificate

_KEY_USAGE = {
    "digital_signature": tr_noop("数字签名"),
    "non_repudiation": tr_noop("不可否认"),
    "key_encipherment": tr_noop("密钥加密"),
    "data_encipherment": tr_noop("数据加密"),
    "key_agreement": tr_noop("密钥协商"),
    "key_cert_sign": tr_noop("证书签名"),
    "crl_sign": tr_noop("CRL签名"),
}


def expiry_status(days_left: int, warning_days: int) -> str:
    if days_left < 0:
        return tr("您的证书已过期，请使用「证书更新」续期或重新办理「证书签发」")
    if days_left <= warning_days:
        return tr("检查到您的证书还有:{days}天就要过期，需要办理「证书更新」").format(days=days_left)
    return tr("证书有效，还有{days}天到期").format(days=days_left)


def certificate_fields(cert: Certificate) -> List[Tuple[str, str]]:
    der = cert.to_der()
    usages = sorted(cert.key_usage or [])
    return [
        (tr("版本"), "V3"),
        (tr("序列号"), f"{cert.serial_number:X}"),
        (tr("签名算法"), "SM2-with-SM3 (1.2.156.10197.1.501)"),
        (tr("颁发者"), cert.issuer_text),
        (tr("有效期从"), f"{cert.not_before:%Y-%m-%d %H:%M:%S}"),
        (tr("有效期到"), f"{cert.not_after:%Y-%m-%d %H:%M:%S}"),
        (tr("使用者"), cert.subject_text),
        (tr("公钥"), "SM2 (sm2p256v1) " + cert.public_key.to_raw().hex().upper()),
        (tr("密钥用法"), "、".join(tr(_KEY_USAGE.get(u, u)) for u in usages) or "-"),
        (tr("CRL分发点"), " ".join(cert.crl_urls) or "-"),
        (tr("SM3指纹"), cert.fingerprint.upper()),
        (tr("SHA1指纹"), hashlib.sha1(der).hexdigest().upper()),  # noqa: S324 - what Windows' viewer shows
    ]


def details_title(usage: CertificateUsage) -> str:
    return tr("签名证书详情") if usage is CertificateUsage.SIGN else tr("加密证书详情")


def documents_dir() -> Path:
    """The user's documents folder (where Windows users look for saved files), else the home folder."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    path = Path(location) if location else Path.home()
    return path if path.is_dir() else Path.home()


def export_name(cert: Certificate, usage: CertificateUsage) -> str:
    """Distinct default names for the two certificates of a pair, so one never overwrites the other."""
    name = "".join("_" if c in '\\/:*?"<>|' else c for c in (cert.common_name or "certificate"))
    kind = tr("签名证书") if usage is CertificateUsage.SIGN else tr("加密证书")
    return f"{name}-{kind}.cer"


class CertificateFieldsDialog(QDialog):
    """Every field of one certificate, and 导出证书 as a DER .cer file (what Windows opens)."""

    def __init__(
        self, cert: Certificate, usage: CertificateUsage, icon: QIcon, parent: Optional[QWidget] = None
    ) -> None:
        super().__init__(parent)
        self.cert = cert
        self.usage = usage
        self.save_dialog: Optional[QFileDialog] = None
        self.setWindowTitle(details_title(usage))
        self.setWindowIcon(icon)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(640, 420)
        fields = certificate_fields(cert)
        self.table = QTableWidget(len(fields), 2)
        self.table.setHorizontalHeaderLabels([tr("字段"), tr("值")])
        self.table.verticalHeader().hide()
        for index, (name, value) in enumerate(fields):
            self.table.setItem(index, 0, QTableWidgetItem(name))
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            self.table.setItem(index, 1, item)
        self.table.resizeColumnToContents(0)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.export_button = QPushButton(tr("导出证书"))
        self.export_button.clicked.connect(self._ask_export)
        self.status = QLabel()
        close = QPushButton(tr("关闭"))
        close.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        layout.addWidget(row(self.export_button, None, close))

    def _ask_export(self) -> None:
        """导出证书: a save dialog in the documents folder, named after the certificate and its usage."""
        dialog = QFileDialog(self, tr("导出证书"), str(documents_dir()), tr("证书文件 (*.cer *.crt *.der)"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix("cer")
        dialog.selectFile(export_name(self.cert, self.usage))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda path: self.export(Path(path)))
        self.save_dialog = dialog
        dialog.open()

    def export(self, path: Path) -> None:
        try:
            path.write_bytes(self.cert.to_der())
        except OSError as exc:
            self.status.setText(tr("导出失败：{detail}").format(detail=exc.strerror or str(exc)))
            return
        self.status.setText(tr("已导出到 {path}").format(path=str(path)))


class CertificateSummary(QWidget):
    """证书信息: 使用者, 颁发者, 有效期到, 密钥类型, 证书设备, 状态提示, and the two detail buttons."""

    def __init__(
        self, open_details: Callable[[CertificateEntry, CertificateUsage], None], parent: Optional[QWidget] = None
    ) -> None:
        super().__init__(parent)
        self._open_details = open_details
        self.entry: Optional[CertificateEntry] = None
        form = QFormLayout(self)
        self.labels = {}
        for key, caption in (
            ("subject", tr("使用者")),
            ("issuer", tr("颁发者")),
            ("not_after", tr("有效期到")),
            ("key_type", tr("密钥类型")),
            ("device", tr("证书设备")),
            ("status", tr("状态提示")),
        ):
            label = QLabel("-")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.labels[key] = label
            form.addRow(caption, label)
        self.sign_button = QPushButton(tr("签名证书详情"))
        self.encryption_button = QPushButton(tr("加密证书详情"))
        self.sign_button.clicked.connect(lambda: self._details(CertificateUsage.SIGN))
        self.encryption_button.clicked.connect(lambda: self._details(CertificateUsage.ENCRYPT))
        form.addRow(row(self.sign_button, self.encryption_button, None))
        self.show_entry(None, 30)

    def show_entry(self, entry: Optional[CertificateEntry], warning_days: int) -> None:
        self.entry = entry
        if entry is None:
            for label in self.labels.values():
                label.setText("-")
            self.labels["status"].setText(tr("没有证书"))
        else:
            self.labels["subject"].setText(entry.subject)
            self.labels["issuer"].setText(entry.issuer)
            self.labels["not_after"].setText(f"{entry.sign.not_after:%Y-%m-%d %H:%M:%S}")
            self.labels["key_type"].setText("SM2")
            self.labels["device"].setText(device_description(entry.device.info))
            self.labels["status"].setText(expiry_status(entry.days_left, warning_days))
        self.sign_button.setEnabled(entry is not None)
        self.encryption_button.setEnabled(entry is not None and entry.encryption is not None)

    def _details(self, usage: CertificateUsage) -> None:
        if self.entry is not None and self.entry.certificate(usage) is not None:
            self._open_details(self.entry, usage)
