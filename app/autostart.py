"""开机自动启动: the per-user Run key on Windows, an XDG autostart entry elsewhere (no admin rights needed)."""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from pathlib import Path
from typing import List

APP_NAME = "CertAssist"


def launch_command() -> List[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "app"]


def _xdg_entry() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autostart" / "certassist.desktop"


def is_enabled() -> bool:
    if sys.platform == "win32":
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, r"Software\Microsoft\Windows\CurrentVersion\Run") as key:
                winreg.QueryValueEx(key, APP_NAME)
        except OSError:
            return False
        return True
    return _xdg_entry().exists()


def set_enabled(enabled: bool) -> None:
    """Raises OSError when the system refuses (the settings page shows it)."""
    if sys.platform == "win32":
        import subprocess
        import winreg

        path = r"Software\Microsoft\Windows\CurrentVersion\Run"
        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, path) as key:
            if enabled:
                winreg.SetValueEx(key, APP_NAME, 0, winreg.REG_SZ, subprocess.list2cmdline(launch_command()))
            else:
                with contextlib.suppress(FileNotFoundError):
                    winreg.DeleteValue(key, APP_NAME)
        return
    entry = _xdg_entry()
    if not enabled:
        entry.unlink(missing_ok=True)
        return
    entry.parent.mkdir(parents=True, exist_ok=True)
    command = " ".join(shlex.quote(part) for part in launch_command())
    entry.write_text(
        "[Desktop Entry]\nType=Application\nName=证书助手\nName[en]=CertAssist\n"
        f"Exec={command}\nX-GNOME-Autostart-enabled=true\n",
        encoding="utf-8",
    )
