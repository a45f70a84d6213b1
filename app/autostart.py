"""开机自动启动, with the user's setting as the one source of truth (no admin rights needed).

Linux: an XDG autostart entry per user. Windows: an installed product has the MSI's machine-wide Run entry
(HKLM), which starts ``certassist-tray.exe --autostart`` at every login; ``--autostart`` starts the tray
only when the user's effective setting is on (their own 开机自动启动 choice, else the administrator's
AUTOSTART default). So the checkbox and what happens at login can never disagree, and a user turns it
off or on for themselves without touching HKLM. A copy that was not installed (no HKLM entry) writes
the user's own Run entry (HKCU) instead.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import List

APP_NAME = "CertAssist"
AUTOSTART_FLAG = "--autostart"
WINDOWED_EXE = "certassist-tray.exe"  # no console window at login


def launch_command() -> List[str]:
    if getattr(sys, "frozen", False):
        executable = Path(sys.executable)
        windowed = executable.with_name(WINDOWED_EXE)
        return [str(windowed if sys.platform == "win32" and windowed.exists() else executable)]
    return [sys.executable, "-m", "app"]


def _xdg_entry() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autostart" / "certassist.desktop"


def is_enabled() -> bool:
    """Whether something starts the app at this user's login (the setting then decides on Windows)."""
    if sys.platform == "win32":
        from app.platform import windows

        return windows.run_entry(machine=True) is not None or windows.run_entry(machine=False) is not None
    else:
        return _xdg_entry().exists()


def set_enabled(enabled: bool) -> None:
    """Raises OSError when the system refuses (the settings page shows it)."""
    if sys.platform == "win32":
        import subprocess

        from app.platform import windows

        if windows.run_entry(machine=True) is not None:
            windows.set_user_run_entry(None)  # the installation's entry runs at login; the setting decides
        else:
            command = subprocess.list2cmdline([*launch_command(), AUTOSTART_FLAG])
            windows.set_user_run_entry(command if enabled else None)
    else:
        _set_xdg_entry(enabled)


def _set_xdg_entry(enabled: bool) -> None:
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


def wanted_at_login() -> bool:
    """For ``--autostart``: the user's effective 开机自动启动 (their own setting, else the machine default)."""
    from app.settings import Settings, machine_defaults

    try:
        return Settings.load().start_with_system
    except ValueError:  # an unreadable settings file: the tray would say so; at login follow the machine
        return bool(machine_defaults().get("start_with_system", False))
