"""The demo's embedded service starts behind the tray and never outlives it, even when the tray quits
while the service is still starting."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List

import httpx
import pytest

from app.api_client import ServiceUnavailable
from app.demo import DemoLauncher


def servers_of(data_dir: Path) -> List[int]:
    """PIDs of service processes (not operator commands) running on ``data_dir``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(data_dir).encode() in args and b"--port" in args:
            found.append(int(proc.name))
    return found


def test_the_service_comes_up_behind_and_stops_with_the_tray(tmp_path: Path) -> None:
    launcher = DemoLauncher(tmp_path / "demo")
    assert launcher.url.startswith("http://127.0.0.1:")  # known before the service answers
    launcher.start()
    assert launcher.starting()
    launcher.wait()
    assert httpx.get(f"{launcher.url}/health", timeout=5).status_code == 200
    launcher.stop()
    assert servers_of(launcher.data_dir) == []
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{launcher.url}/health", timeout=2)


def test_quitting_while_the_service_starts_leaves_no_service_behind(tmp_path: Path) -> None:
    launcher = DemoLauncher(tmp_path / "demo")
    launcher.start()
    deadline = time.monotonic() + 60
    while not servers_of(launcher.data_dir):  # the service process exists but may not answer yet
        assert time.monotonic() < deadline and launcher.starting(), "the service process never started"
        time.sleep(0.01)
    launcher.stop()
    assert servers_of(launcher.data_dir) == []
    if launcher.service is None:  # given up while starting (it nearly always is): clients are told so
        with pytest.raises(ServiceUnavailable):
            launcher.wait()


def test_the_portal_calls_the_trays_bridge_port(tmp_path: Path) -> None:
    """With the bridge moved (设置 or CERTASSIST_BRIDGE_PORT), the demo's portal page calls the new port."""
    launcher = DemoLauncher(tmp_path / "demo", bridge_port=18471)
    launcher.start()
    try:
        launcher.wait()
        page = httpx.get(f"{launcher.url}/", timeout=5)
        assert page.status_code == 200
        assert "http://127.0.0.1:18471" in page.headers["Content-Security-Policy"]
        assert 'data-bridge-port="18471"' in page.text
    finally:
        launcher.stop()
    assert servers_of(launcher.data_dir) == []
