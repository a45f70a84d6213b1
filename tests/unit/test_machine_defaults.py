"""Machine defaults (the MSI's SERVICEURL / AUTOSTART / LANGUAGE) under a user's own settings, and
``--autostart`` deciding from the effective value (issue 11: one source of truth for 开机自动启动)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Dict

import pytest

from app import autostart
from app.platform import windows
from app.settings import DEFAULT_SERVICE_URL, Settings, machine_defaults
from drivers.profiles import expand_module_path
from tests.conftest import REPO


@pytest.fixture()
def machine(monkeypatch: pytest.MonkeyPatch) -> Dict[str, str]:
    values: Dict[str, str] = {}
    monkeypatch.setattr(windows, "machine_values", lambda: values)
    return values


def test_without_machine_defaults_every_value_is_stored_as_before(machine: Dict[str, str]) -> None:
    Settings().save()
    stored = json.loads(Settings.path().read_text(encoding="utf-8"))
    assert stored["service_url"] == DEFAULT_SERVICE_URL
    assert stored["start_with_system"] is False
    assert stored["language"] == "zh_CN"


def test_machine_defaults_fill_in_what_the_user_has_not_set(machine: Dict[str, str]) -> None:
    machine.update(ServiceUrl="https://ca.example.cn/", AutoStart="1", Language="en", InstallDir="C:\\x")
    settings = Settings.load()
    assert (settings.service_url, settings.start_with_system, settings.language) == (
        "https://ca.example.cn",
        True,
        "en",
    )
    settings.expiry_warning_days = 10
    settings.save()  # values equal to the machine default are not stored: they keep following it
    stored = json.loads(Settings.path().read_text(encoding="utf-8"))
    assert "service_url" not in stored and "start_with_system" not in stored and "language" not in stored
    machine.update(ServiceUrl="https://ca2.example.cn")
    assert Settings.load().service_url == "https://ca2.example.cn"


def test_a_users_own_setting_wins(machine: Dict[str, str]) -> None:
    machine.update(ServiceUrl="https://ca.example.cn", AutoStart="1")
    settings = Settings.load()
    settings.start_with_system = False  # 开机自动启动 unchecked by this user
    settings.service_url = "https://mine.example.cn"
    settings.save()
    again = Settings.load()
    assert again.start_with_system is False
    assert again.service_url == "https://mine.example.cn"


def test_invalid_machine_values_are_ignored(machine: Dict[str, str]) -> None:
    machine.update(ServiceUrl="ftp://x", AutoStart="yes", Language="fr", Version="0.1.0")
    assert machine_defaults() == {}


def test_autostart_follows_the_effective_setting(machine: Dict[str, str]) -> None:
    assert autostart.wanted_at_login() is False
    machine.update(AutoStart="1")
    assert autostart.wanted_at_login() is True
    settings = Settings.load()
    settings.start_with_system = False
    settings.save()
    assert autostart.wanted_at_login() is False


def test_autostart_flag_starts_nothing_when_the_setting_is_off(tmp_path: object) -> None:
    """No tray and no display needed: the command ends at once (with the setting on it tries the tray)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    run = [sys.executable, "-c", "from app.cli import main; main()", "--autostart"]
    off = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60, cwd=REPO, check=False)
    assert off.returncode == 0, off.stderr
    assert off.stdout == off.stderr == ""
    Settings(start_with_system=True).save()
    on = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60, cwd=REPO, check=False)
    assert on.returncode == 4 and "DISPLAY" in on.stderr  # it went on to start the tray


def test_windows_module_paths_expand_variables_and_look_in_system32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYSTEMROOT", r"C:\Windows")
    assert expand_module_path("vendorp11.dll", "windows") == r"C:\Windows\System32\vendorp11.dll"
    assert expand_module_path(r"D:\Tokens\p11.dll", "windows") == r"D:\Tokens\p11.dll"
    monkeypatch.setenv("TOKEN_DIR", "/opt/token")
    assert expand_module_path("$TOKEN_DIR/lib.so", "linux") == "/opt/token/lib.so"
    assert expand_module_path("libp11.so", "linux") == "libp11.so"
