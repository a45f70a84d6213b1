"""备份证书 and 恢复证书 (设置 → 证书列表): soft certificates into a password-protected .pfx and back.

A wrong PIN or backup password, a weak backup password, an existing file or a damaged one stays in the
dialog with the reason, so the user can correct it at once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from qtpy.QtCore import Qt
from qtpy.QtGui import QIcon
from qtpy.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from app import backup
from app.api_client import ApiError, ServiceUnavailable
from app.backup_policy import BackupError, TooManyAttempts
from app.entries import CertificateEntry, list_certificates
from app.ui.context import AppContext
from app.ui.details import documents_dir
from app.ui.errors import Explanation
from app.ui.flow import Flow, device_queue
from app.ui.i18n import tr
from app.ui.issue_flows import SOFT_QUEUE
from app.ui.labels import device_label
from app.ui.widgets import FormDialog, PinEdit
from drivers.soft import SoftBackend, SoftDevice
from gm.errors import PasswordIncorrect


def _inline(exc: BaseException, explanation: Explanation) -> bool:
    """What the user can correct in the dialog (everything but a device or service failure)."""
    return explanation.pin_retry or isinstance(
        exc,
        (BackupError, PasswordIncorrect, TooManyAttempts, FileExistsError),
    )


class _FileRow(QWidget):
    """A path field with 浏览… opening a save or open dialog in the documents folder."""

    def __init__(self, title: str, save: bool, suggested: str, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.title, self.save = title, save
        self.path = QLineEdit(str(documents_dir() / suggested) if suggested else "")
        self.path.setMinimumWidth(280)
        self.browse = QPushButton(tr("浏览…"))
        self.browse.clicked.connect(self._browse)
        self.dialog: Optional[QFileDialog] = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.path, 1)
        layout.addWidget(self.browse)

    def _browse(self) -> None:
        dialog = QFileDialog(self, self.title, str(documents_dir()), tr("证书备份文件 (*.pfx *.p12)"))
        if self.save:
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
            dialog.setFileMode(QFileDialog.FileMode.AnyFile)
            dialog.setDefaultSuffix("pfx")
            # the flow asks before replacing a file; the dialog must not ask a second time
            dialog.setOption(QFileDialog.Option.DontConfirmOverwrite, True)
        else:
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.path.setText)
        self.dialog = dialog
        dialog.open()

    def value(self) -> Path:
        return Path(self.path.text().strip()).expanduser()


class BackupDialog(FormDialog):
    def __init__(self, entry: CertificateEntry, icon: QIcon, parent: Optional[QWidget] = None) -> None:
        super().__init__(
            tr("备份证书"),
            tr(
                "备份文件包含证书和私钥（含历史加密密钥），由备份密码保护，可在新电脑上「恢复证书」。"
                "请妥善保管备份文件并牢记备份密码：得到文件的人可以离线猜测密码，所以备份密码要足够长。"
            ),
            icon,
            parent,
        )
        self.add_row(tr("证书"), QLabel(f"{entry.subject}（{device_label(entry.device.info)}）"))
        name = f"{entry.subject}-{time.strftime('%Y%m%d')}.pfx"
        self.file = _FileRow(tr("备份证书"), True, name)
        self.pin = PinEdit(tr("请您输入证书密码"))
        self.password = PinEdit(tr("至少10位，含大小写字母、数字、符号中的三类"))
        self.password.setMaxLength(128)
        self.confirmation = PinEdit(tr("请您再次输入备份密码"))
        self.confirmation.setMaxLength(128)
        self.add_row(tr("备份文件"), self.file)
        self.add_row(tr("证书密码"), self.pin)
        self.add_row(tr("备份密码"), self.password)
        self.add_row(tr("确认备份密码"), self.confirmation)


class RestoreDialog(FormDialog):
    def __init__(self, icon: QIcon, parent: Optional[QWidget] = None) -> None:
        super().__init__(
            tr("恢复证书"),
            tr("从备份文件（.pfx/.p12，SM2密钥）恢复证书到本机新的软证书中，并设置新的证书密码，请牢记！"),
            icon,
            parent,
        )
        self.file = _FileRow(tr("恢复证书"), False, "")
        self.password = PinEdit(tr("请您输入备份密码"))
        self.password.setMaxLength(128)
        self.pin = PinEdit(tr("请您输入新的证书密码(6~20位)"))
        self.confirmation = PinEdit(tr("请您再次输入新的证书密码"))
        self.add_row(tr("备份文件"), self.file)
        self.add_row(tr("备份密码"), self.password)
        self.add_row(tr("证书密码"), self.pin)
        self.add_row(tr("确认密码"), self.confirmation)


class BackupFlow(Flow):
    """备份证书: PIN verified, backup password twice, the file written atomically; the service records it."""

    title = "备份证书"

    def __init__(self, ctx: AppContext, entry: CertificateEntry) -> None:
        super().__init__(ctx)
        self.entry = entry
        self.dialog: Optional[BackupDialog] = None

    def start(self) -> None:
        if not isinstance(self.entry.device, SoftDevice):
            self.info(tr("USB Key中的私钥不能导出，无法备份；USB Key本身就是证书的安全载体，请妥善保管。"), ok=False)
            return
        self.remember(self.entry)
        dialog = self.dialog = BackupDialog(self.entry, self.ctx.icon)
        dialog.submitted.connect(self._submitted)
        self.open(dialog)

    def _submitted(self) -> None:
        dialog = self.dialog
        assert dialog is not None
        target = dialog.file.value()
        if not dialog.file.path.text().strip():
            dialog.show_error(tr("请选择备份文件的保存位置"))
            return
        if target.exists():
            self.ctx.prompts.ask(
                tr("文件 {path} 已存在，是否覆盖？").format(path=str(target)),
                lambda yes: self._run(target, True) if yes else None,
                default_cancel=True,
            )
            return
        self._run(target, False)

    def _run(self, target: Path, overwrite: bool) -> None:
        dialog, entry = self.dialog, self.entry
        assert dialog is not None and isinstance(entry.device, SoftDevice)
        device = entry.device
        pin, password, confirmation = dialog.pin.text(), dialog.password.text(), dialog.confirmation.text()
        model = self.ctx.model

        def job() -> str:
            client = model.new_client(timeout=15.0)
            try:
                chain = backup.issuing_chain(client, entry.sign)  # () when the service is out of reach
                result = backup.make_backup(device, pin, password, confirmation, target, overwrite, chain)
                try:
                    backup.report_backup(client, entry, pin)
                    note = ""
                except (ApiError, ServiceUnavailable) as exc:
                    note = tr("（证书服务未能记录本次备份：{detail}）").format(detail=str(exc))
            finally:
                client.close()
            return tr("备份证书成功：{path}").format(path=str(result.path)) + note

        self.run_in(dialog, device_queue(device), job, self.succeed, tr("正在备份证书…"), inline=_inline)


class RestoreFlow(Flow):
    """恢复证书: a backup file into a new soft keystore with a new PIN."""

    title = "恢复证书"

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.dialog: Optional[RestoreDialog] = None

    def start(self) -> None:
        dialog = self.dialog = RestoreDialog(self.ctx.icon)
        dialog.submitted.connect(self._submitted)
        self.open(dialog)

    def _submitted(self) -> None:
        dialog = self.dialog
        assert dialog is not None
        source = dialog.file.value()
        password, pin, confirmation = dialog.password.text(), dialog.pin.text(), dialog.confirmation.text()
        backend = next((b for b in self.ctx.model.backends() if isinstance(b, SoftBackend)), None)
        model = self.ctx.model
        if backend is None or not dialog.file.path.text().strip():
            dialog.show_error(tr("请选择要恢复的备份文件"))
            return

        def job() -> str:
            with source.open("rb") as fh:
                data = fh.read(2 * 1024 * 1024)
            result = backup.restore_backup(backend, data, password, pin, confirmation)
            entries, _problems = list_certificates([result.device])
            names = "、".join(entry.subject for entry in entries)
            text = tr("恢复证书成功：{names}").format(names=names)
            if entries:
                client = model.new_client(timeout=15.0)
                try:
                    backup.escrow_restored(client, entries[0], pin, result.admin_secret)
                except (ApiError, ServiceUnavailable):
                    text += tr("（未能连接证书服务：在证书服务记录新的解锁凭据之前，本证书无法使用「证书解锁」）")
                finally:
                    client.close()
            return text

        def done(text: str) -> None:
            self.ctx.refresh_requested.emit()
            self.succeed(text)

        self.run_in(dialog, SOFT_QUEUE, job, done, tr("正在恢复证书…"), inline=_inline)
