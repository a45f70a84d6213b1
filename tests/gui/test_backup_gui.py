"""设置 → 证书列表 → 备份证书 / 恢复证书 through the real widgets, against the service running as its own process."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, List

import pytest
from qtpy.QtWidgets import QFileDialog

from app import backup, entries, flows
from app.api_client import IssuingClient
from app.backup_policy import AlreadyRestored, BackupPasswordInvalid, BackupUnreadable, check_backup_password
from app.messages import message
from app.ui import i18n
from app.ui.backup_flows import BackupDialog, RestoreDialog
from app.ui.errors import explain
from app.ui.settings_dialog import CERTIFICATES, SettingsDialog
from drivers.soft import SoftBackend
from gm import pkcs12
from tests.gui.conftest import Gui, LiveService
from tests.gui.test_tray_fixes import shot
from tests.gui.test_tray_flows import PIN, issue_soft_certificate
from tests.keystores import rebuilt_without_history

PASSWORD = "Backup-Pass-2026"
NEW_PIN = "739146"


def open_certificate_list(gui: Gui) -> SettingsDialog:
    gui.menu("设置")
    settings = gui.dialog(SettingsDialog)
    settings.nav.setCurrentRow(CERTIFICATES)
    return settings


def test_backup_then_restore_on_a_new_computer(
    gui: Gui, live: LiveService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOCUMENTS_DIR", raising=False)
    issue_soft_certificate(gui, live.new_user("zhoushi", "周十"))
    [entry] = gui.model.inventory.entries
    settings = open_certificate_list(gui)

    gui.click(settings.backup_button)
    dialog = gui.dialog(BackupDialog)
    assert Path(dialog.file.path.text()).parent == home / "Documents"
    gui.click(dialog.file.browse)  # 浏览… opens a save dialog in the documents folder
    save = dialog.file.dialog
    assert isinstance(save, QFileDialog)
    gui.qtbot.waitUntil(save.isVisible)
    assert Path(save.directory().absolutePath()) == home / "Documents"
    target = home / "Documents" / "周十.pfx"
    save.selectFile(str(target))
    save.accept()
    gui.qtbot.waitUntil(lambda: dialog.file.path.text() == str(target))

    # a weak backup password stays in the dialog with the reason
    gui.type_into(dialog.pin, PIN)
    gui.type_into(dialog.password, "12345678")
    gui.type_into(dialog.confirmation, "12345678")
    gui.submit(dialog)
    gui.qtbot.waitUntil(lambda: "备份密码" in dialog.error_label.text())
    assert not target.exists()
    # a wrong PIN too, with the tries left
    gui.type_into(dialog.pin, "000000")
    gui.type_into(dialog.password, PASSWORD)
    gui.type_into(dialog.confirmation, PASSWORD)
    gui.submit(dialog)
    gui.qtbot.waitUntil(lambda: "9" in dialog.error_label.text())
    assert not target.exists()
    shot(dialog, "backup-wrong-pin")
    gui.type_into(dialog.pin, PIN)
    gui.submit(dialog)
    gui.idle()
    text = gui.answer("确定", expect="备份证书成功")
    assert str(target) in text and "未能记录" not in text  # the service recorded it
    contents = pkcs12.load(target.read_bytes(), PASSWORD)
    assert {item.certificate for item in contents.keys} == {entry.sign, entry.encryption}
    assert [cert.is_self_issued for cert in contents.certificates] == [False, True]  # the service's chain

    # 备份证书 again to the same file: asked before replacing it
    gui.click(settings.backup_button)
    again = gui.dialog(BackupDialog)
    again.file.path.setText(str(target))
    gui.type_into(again.pin, PIN)
    gui.type_into(again.password, PASSWORD)
    gui.type_into(again.confirmation, PASSWORD)
    gui.submit(again)
    gui.answer("取消", expect="已存在，是否覆盖")
    assert target.read_bytes() and again.isVisible()
    again.close()

    # a new computer: the keystore is gone
    entry.device.destroy()  # type: ignore[attr-defined]
    gui.refreshed()
    assert gui.model.inventory.entries == []
    settings = open_certificate_list(gui)
    gui.click(settings.restore_button)
    restore = gui.dialog(RestoreDialog)
    restore.file.path.setText(str(target))
    gui.type_into(restore.password, "Wrong-Pass-2026")
    gui.type_into(restore.pin, NEW_PIN)
    gui.type_into(restore.confirmation, NEW_PIN)
    gui.submit(restore)
    gui.qtbot.waitUntil(lambda: "备份密码错误" in restore.error_label.text(), timeout=30000)
    shot(restore, "restore-wrong-password")
    gui.type_into(restore.password, PASSWORD)
    gui.submit(restore)
    gui.idle()
    done = gui.answer("确定", expect="恢复证书成功")
    assert "周十" in done and "未能连接" not in done  # the new unblock secret reached the service
    gui.qtbot.waitUntil(lambda: len(gui.model.inventory.entries) == 1)
    [restored] = gui.model.inventory.entries
    assert restored.sign == entry.sign and restored.encryption == entry.encryption
    with restored.device.open() as session:
        session.login(NEW_PIN)


def test_a_damaged_backup_file_is_explained_in_the_dialog(gui: Gui, live: LiveService, tmp_path: Path) -> None:
    broken = tmp_path / "broken.pfx"
    broken.write_bytes(b"0\x82\x10\x00 not really a pfx")
    settings = open_certificate_list(gui)
    gui.click(settings.restore_button)
    restore = gui.dialog(RestoreDialog)
    restore.file.path.setText(str(broken))
    gui.type_into(restore.password, PASSWORD)
    gui.type_into(restore.pin, NEW_PIN)
    gui.type_into(restore.confirmation, NEW_PIN)
    gui.submit(restore)
    gui.qtbot.waitUntil(lambda: "文件已损坏" in restore.error_label.text(), timeout=30000)
    assert gui.model.inventory.entries == [] and broken.read_bytes().startswith(b"0\x82")


def test_backup_needs_a_selected_certificate(gui: Gui, live: LiveService, qtbot: Any) -> None:
    settings = open_certificate_list(gui)
    gui.click(settings.backup_button)
    gui.answer("确定", expect="请先在列表中选择要备份的证书")


def test_earlier_keys_come_back_from_the_kmc_on_the_command_line(
    gui: Gui, live: LiveService, soft_backend: SoftBackend, tmp_path: Path
) -> None:
    """A holder who renewed, then lost the keystore that kept the earlier key (and whose backup predates
    nothing useful), recovers it with `token recover-keys` (a certificate login to the service)."""
    user = live.new_user("wushi", "吴十")
    issue_soft_certificate(gui, user)
    [before] = gui.model.inventory.entries
    assert before.encryption is not None
    bid = before.encryption.public_key.encrypt(b"bid from before the renewal")
    client = IssuingClient(live.url)
    flows.certificate_login(client, before, PIN)
    flows.update(client, before, user["username"], PIN)
    client.close()
    [after], _ = entries.list_certificates(soft_backend.devices())
    device = rebuilt_without_history(soft_backend, after, "软证书 wushi", PIN)
    (tmp_path / "bid.enc").write_bytes(bid)
    env = {**os.environ, "CERTASSIST_SERVICE_URL": live.url}
    command = [sys.executable, "-c", "from app.cli import main; main()", "token"]
    decrypt = [*command, "decrypt", "--device", device.info.serial, "-o", str(tmp_path / "bid.txt"), "--pin-stdin"]
    before_recovery = subprocess.run(
        [*decrypt, str(tmp_path / "bid.enc")], input=f"{PIN}\n".encode(), capture_output=True, env=env, check=False
    )
    assert before_recovery.returncode == 1 and not (tmp_path / "bid.txt").exists()
    recovered = subprocess.run(
        [*command, "recover-keys", "--device", device.info.serial, "--pin-stdin"],
        input=f"{PIN}\n".encode(), capture_output=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert recovered.returncode == 0, recovered.stderr
    assert recovered.stdout.decode().startswith("1 earlier encryption key(s) recovered")
    decrypted = subprocess.run(
        [*decrypt, str(tmp_path / "bid.enc")], input=f"{PIN}\n".encode(), capture_output=True, env=env, check=False
    )
    assert decrypted.returncode == 0, decrypted.stderr
    assert (tmp_path / "bid.txt").read_bytes() == b"bid from before the renewal"
    wrong = subprocess.run(
        [*command, "recover-keys", "--device", device.info.serial, "--pin-stdin"],
        input=b"000000\n", capture_output=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert wrong.returncode == 1 and "wrong PIN" in wrong.stderr.decode()


@pytest.mark.main_python  # Python 3.8's platform.uname() runs `uname -p` eagerly on Linux (not on Windows)
def test_opening_the_certificate_list_starts_no_process(gui: Gui, monkeypatch: pytest.MonkeyPatch) -> None:
    """设置 (where 备份证书 lives) opened on the GUI thread must not wait for `uname -p` (platform.platform())."""
    spawned: List[Any] = []
    real_init = subprocess.Popen.__init__

    def spy(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
        spawned.append(args[0] if args else kwargs.get("args"))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(platform, "_uname_cache", None)  # as in a freshly started tray
    monkeypatch.setattr(subprocess.Popen, "__init__", spy)
    settings = open_certificate_list(gui)
    assert settings.isVisible()
    assert not [command for command in spawned if "uname" in str(command)]


def test_backup_refusals_follow_the_interface_language(qapp: Any) -> None:
    """A weak backup password or an unreadable file is explained in English in the English interface."""
    with pytest.raises(BackupPasswordInvalid) as weak:
        check_backup_password("short", "short")
    with pytest.raises(BackupUnreadable) as unreadable:
        backup.read_backup(b"", PASSWORD)
    assert explain(weak.value).text == "备份密码应为10-128个字符" == str(weak.value)  # the command line's text
    already = explain(
        AlreadyRestored(
            message(
                "证书“{subject}”已在本机的软证书 {serial} 中（见证书列表），无需恢复；"
                "忘记其证书密码时请使用「证书解锁」",
                subject="周十",
                serial="ab12",
            )
        )
    )
    assert already.next_step is None and already.text.startswith("证书“周十”已在本机的软证书 ab12 中")
    assert i18n.install("en")
    try:
        assert explain(weak.value).text == "The backup password must be 10-128 characters long"
        assert explain(unreadable.value).text.startswith("The file is damaged, or not a certificate backup")
    finally:
        i18n.install("zh_CN")
