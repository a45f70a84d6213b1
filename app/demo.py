"""``certassist --demo``: an embedded issuing service on loopback with a ready demo account.

The app never imports the server (they share only the HTTP contract), so the service runs as a child
process of the same installation (``python -m server.cli``) and is stopped with the app. Its data dir
is kept between runs so that certificates issued in one demo session still work in the next.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import httpx
import platformdirs

DEMO_USERNAME = "demo"
DEMO_APPLICANT = "演示用户"
DEMO_ID_NUMBER = "11010519491231002X"  # the GB 11643 example number
DEMO_EMAIL = "demo@example.com"


class DemoError(Exception):
    pass


def default_demo_dir() -> Path:
    return Path(platformdirs.user_data_dir("certassist", appauthor=False)) / "demo"


def _free_port(preferred: int = 8470) -> int:
    """The service's usual port when it is free (CRL URLs in earlier demo certificates keep working)."""
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise DemoError("没有可用的本地端口")


def _frozen_server() -> Path:
    return Path(sys.executable).with_name("certassist-server.exe" if sys.platform == "win32" else "certassist-server")


def unavailable_reason() -> Optional[str]:
    """Why ``--demo`` cannot run here, or None: a frozen client build without the service executable."""
    if not getattr(sys, "frozen", False) or _frozen_server().exists():
        return None
    return (
        "--demo needs the embedded issuing service, which this installed package does not include; "
        "run the demo from a source checkout (./run.sh --demo)"
    )


def _server_command(data_dir: Path, port: int) -> List[str]:
    if getattr(sys, "frozen", False):  # a frozen build ships the server as its own executable
        return [
            str(_frozen_server()),
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ]
    return [sys.executable, "-m", "server.cli", "--data-dir", str(data_dir), "--port", str(port)]


@dataclass
class DemoService:
    data_dir: Path
    url: str
    process: subprocess.Popen  # type: ignore[type-arg]

    @property
    def outbox(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def client_home(self) -> Path:
        """The demo's own soft keystores and settings, apart from the user's real ones."""
        return self.data_dir / "client"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _operator(data_dir: Path, *args: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    command = _server_command(data_dir, 0)[:-2]  # no --port for operator commands
    return subprocess.run([*command, *args], capture_output=True, text=True, check=False, timeout=120)  # noqa: S603


def ensure_demo_account(data_dir: Path) -> None:
    if _operator(data_dir, "account", "show", DEMO_USERNAME).returncode == 0:
        return
    added = _operator(
        data_dir,
        "account",
        "add",
        "--username",
        DEMO_USERNAME,
        "--name",
        DEMO_APPLICANT,
        "--type",
        "natural",
        "--id-number",
        DEMO_ID_NUMBER,
        "--email",
        DEMO_EMAIL,
        "--approve",
    )
    if added.returncode != 0:
        raise DemoError(f"无法创建演示账号：{added.stderr.strip() or added.stdout.strip()}")


def start_demo(data_dir: Optional[Path] = None, timeout: float = 60.0) -> DemoService:
    """Start the service, wait until it answers, and make sure the demo account exists."""
    data_dir = (data_dir or default_demo_dir()).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    ensure_demo_account(data_dir)  # also creates the database and the CA on the first run
    port = _free_port()
    log = (data_dir / "server.log").open("ab")
    process = subprocess.Popen(  # noqa: S603
        _server_command(data_dir, port), stdout=log, stderr=log, env=dict(os.environ)
    )
    log.close()
    service = DemoService(data_dir, f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DemoError(f"内置证书服务启动失败，详见 {data_dir / 'server.log'}")
        try:
            if httpx.get(f"{service.url}/health", timeout=1, trust_env=False).status_code == 200:
                return service
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    service.stop()
    raise DemoError(f"内置证书服务在 {timeout:.0f} 秒内没有就绪，详见 {data_dir / 'server.log'}")


def demo_summary(service: DemoService) -> str:
    return json.dumps(
        {
            "service": service.url,
            "username": DEMO_USERNAME,
            "applicant_name": DEMO_APPLICANT,
            "outbox": str(service.outbox),
        },
        ensure_ascii=False,
    )
