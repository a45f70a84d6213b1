"""Smoke test of the real tray: Xvfb, a tray host (trayer), `certassist --demo`, a right click, a screenshot."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from PIL import Image

from tests.conftest import REPO
from tests.integration.test_demo_launcher import servers_of

OUTPUT = REPO / "test-output"
pytestmark = pytest.mark.integration


def _run(env: Dict[str, str], *args: str) -> str:
    return subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=30, check=False).stdout


def _stop(process: subprocess.Popen) -> None:  # type: ignore[type-arg]
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture()
def display(tmp_path: Path) -> Iterator[Dict[str, str]]:
    for tool in ("Xvfb", "trayer", "xdotool", "import"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is required (./test.sh installs xvfb trayer xdotool imagemagick)")
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env["DISPLAY"] = f":{number}"
    trayer = subprocess.Popen(
        [
            "trayer",
            "--edge",
            "bottom",
            "--align",
            "right",
            "--widthtype",
            "request",
            "--height",
            "32",
            "--SetDockType",
            "true",
            "--transparent",
            "false",
        ],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while not _run(env, "xdotool", "search", "--classname", "trayer").split():  # owns the tray selection now
        assert time.monotonic() < deadline and trayer.poll() is None, "trayer did not start"
        time.sleep(0.1)
    time.sleep(0.5)
    try:
        yield env
    finally:
        _stop(trayer)
        _stop(xvfb)


def _app_windows(env: Dict[str, str]) -> List[str]:
    return _run(env, "xdotool", "search", "--onlyvisible", "--class", "CertAssist").split()


def test_tray_icon_menu_and_screenshot(display: Dict[str, str], tmp_path: Path) -> None:
    env = dict(display, CERTASSIST_HOME=str(tmp_path / "home"))
    started = time.monotonic()
    app = subprocess.Popen(
        [sys.executable, "-m", "app", "--demo", "--demo-dir", str(tmp_path / "demo")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
    )
    try:
        assert app.stdout is not None
        banner = app.stdout.readline() + app.stdout.readline() + app.stdout.readline()
        assert "证书助手演示模式" in banner and "演示用户" in banner, banner
        deadline = time.monotonic() + 60
        while not _app_windows(env):  # the login box pops up once the tray is ready
            assert app.poll() is None, "the tray app exited"
            assert time.monotonic() < deadline, "no window of the tray app appeared"
            time.sleep(0.2)
        ready = time.monotonic() - started
        icon = None
        while icon is None:  # Qt's tray icon is a small window of ours docked into trayer's panel
            assert time.monotonic() < deadline, "no icon docked in the tray"
            for window in _run(env, "xdotool", "search", "--class", "CertAssist").split():
                shell = _run(env, "xdotool", "getwindowgeometry", "--shell", window).split()
                geometry = {k: int(v) for k, v in (line.split("=", 1) for line in shell) if k != "SCREEN"}
                if geometry["WIDTH"] <= 48 and geometry["HEIGHT"] <= 48 and geometry["Y"] > 768 - 64:
                    icon = geometry
            time.sleep(0.2)
        x, y, width = icon["X"], icon["Y"], icon["WIDTH"]
        before = set(_app_windows(env))
        _run(env, "xdotool", "mousemove", str(x + width // 2), str(y + icon["HEIGHT"] // 2), "click", "3")
        deadline = time.monotonic() + 10
        while not set(_app_windows(env)) - before:
            assert time.monotonic() < deadline, "the right click opened no menu"
            time.sleep(0.1)
        time.sleep(0.5)
        OUTPUT.mkdir(exist_ok=True)
        shot = OUTPUT / "tray-menu.png"
        subprocess.run(["import", "-window", "root", str(shot)], env=env, check=True, timeout=30)
        with Image.open(shot) as image:
            menu_area = image.convert("L").crop((x + width - 260, y - 300, x + width, y))
            light = sum(1 for value in menu_area.getdata() if value > 200)
        assert light > 5000, "the screenshot shows no menu above the tray icon"
        (OUTPUT / "tray-ready-seconds.txt").write_text(f"{ready:.2f}\n")
    finally:
        _stop(app)
    # SIGTERM ends the tray normally: it stops the embedded service it started (or was still starting)
    assert app.returncode == 0
    assert re.search(r"证书服务 (http://\S+)", banner), banner
    assert servers_of(tmp_path / "demo") == []
