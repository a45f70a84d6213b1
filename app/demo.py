"""``certassist --demo``: an embedded issuing service on loopback with a ready demo account.

The app never imports the server (they share only the HTTP contract), so the service runs as a child
process of the same installation (``python -m server.cli``) and is stopped with the app. Its data dir
is kept between runs so that certificates issued in one demo session still work in the next.
The service needs Python >= 3.10 while the client also runs on 3.8 (Windows 7): there, or to use another
installation's service, ``$CERTASSIST_SERVICE_PYTHON`` names the interpreter that runs it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import httpx
import platformdirs

from app.platform.frozen import server_executable

DEMO_USERNAME = "demo"
DEMO_APPLICANT = "演示用户"
DEMO_ID_NUMBER = "11010519491231002X"  # the GB 11643 example number
DEMO_EMAIL = "demo@example.com"
START_TIMEOUT = 60.0

log = logging.getLogger(__name__)

SERVICE_PYTHON_ENV = "CERTASSIST_SERVICE_PYTHON"


class DemoError(Exception):
    pass


def default_demo_dir() -> Path:
    return Path(platformdirs.user_data_dir("certassist", appauthor=False)) / "demo"


def _reserve_port(preferred: int = 8470) -> socket.socket:
    """A bound socket on the service's usual port when it is free (CRL URLs in earlier demo certificates
    keep working), else on any free port; holding it keeps the port ours until the service takes it."""
    for port in (preferred, 0):
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        return sock
    raise DemoError("没有可用的本地端口")


def _free_port(preferred: int = 8470) -> int:
    with _reserve_port(preferred) as sock:
        return int(sock.getsockname()[1])


def service_python() -> str:
    """The interpreter that runs the service: ``$CERTASSIST_SERVICE_PYTHON``, else this one if it can."""
    configured = os.environ.get(SERVICE_PYTHON_ENV, "")
    if configured:
        return configured
    if sys.version_info < (3, 10):
        raise DemoError(
            f"内置证书服务需要 Python 3.10 或更高版本（当前为 {sys.version_info[0]}.{sys.version_info[1]}）："
            f"请用环境变量 {SERVICE_PYTHON_ENV} 指定装有证书服务的 Python"
        )
    return sys.executable


def _server_command(data_dir: Path, port: int, bridge_port: int = 0) -> List[str]:
    """``bridge_port``: the tray's browser bridge port, which the web portal's page calls (0: the default)."""
    portal = ["--bridge-port", str(bridge_port)] if bridge_port else []
    if getattr(sys, "frozen", False):  # a frozen build ships the server as its own executable
        return [
            str(server_executable()),
            "--data-dir",
            str(data_dir),
            *portal,
            "--port",
            str(port),
        ]
    return [service_python(), "-m", "server.cli", "--data-dir", str(data_dir), *portal, "--port", str(port)]


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


class StartControl:
    """Lets another thread give up a start: the service process is spawned and ended under one lock,
    so a process is either never spawned after ``stop`` or ended by it (never left behind)."""

    def __init__(self, reservation: Optional[socket.socket] = None) -> None:
        self._lock = threading.Lock()
        self.stopped = False
        self.process: Optional[subprocess.Popen] = None  # type: ignore[type-arg]
        self.reservation = reservation  # the port, held until the service binds it

    def release_port(self) -> None:
        if self.reservation is not None:
            self.reservation.close()
            self.reservation = None

    def spawn(self, command: List[str], log_path: Path) -> subprocess.Popen:  # type: ignore[type-arg]
        with self._lock:
            self.release_port()
            if self.stopped:
                raise DemoError("演示模式已退出")
            with log_path.open("ab") as log_file:
                self.process = subprocess.Popen(  # noqa: S603
                    command, stdout=log_file, stderr=log_file, env=dict(os.environ)
                )
            return self.process

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            process = self.process
            self.release_port()
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def private_dir(path: Path) -> Path:
    """``path`` as a folder only this user may enter (0700): the demo's database, keys and mail hold personal
    data. One made by an earlier version with the default mode is closed up too."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name == "posix" and path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def start_demo(
    data_dir: Optional[Path] = None,
    timeout: float = START_TIMEOUT,
    port: Optional[int] = None,
    control: Optional[StartControl] = None,
    bridge_port: int = 0,
) -> DemoService:
    """Start the service, wait until it answers, and make sure the demo account exists.

    ``control.stop()`` (from another thread) gives the start up and ends the service process.
    """
    control = control or StartControl()
    data_dir = private_dir((data_dir or default_demo_dir()).resolve())
    ensure_demo_account(data_dir)  # also creates the database and the CA on the first run
    port = port or _free_port()
    process = control.spawn(_server_command(data_dir, port, bridge_port), data_dir / "server.log")
    service = DemoService(data_dir, f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if control.stopped:
            raise DemoError("演示模式已退出")
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


class DemoLauncher:
    """Starts the embedded service on a thread, so the tray (and its login box) can show at once.

    The URL is known before the service answers (the port is chosen first); ``wait`` blocks a worker
    thread until the service is up and raises DemoError if it never comes up.
    """

    def __init__(self, data_dir: Optional[Path] = None, timeout: float = START_TIMEOUT, bridge_port: int = 0) -> None:
        self.data_dir = (data_dir or default_demo_dir()).resolve()
        self.bridge_port = bridge_port  # the tray's browser bridge, for the portal's page (0: the default)
        reservation = _reserve_port()
        self.port = int(reservation.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.timeout = timeout
        self.service: Optional[DemoService] = None
        self.error: Optional[BaseException] = None
        self._ready = threading.Event()
        self._control = StartControl(reservation)

    @property
    def outbox(self) -> Path:
        return self.data_dir / "outbox"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="demo-start", daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        try:
            self.service = start_demo(self.data_dir, self.timeout, self.port, self._control, self.bridge_port)
        except Exception as exc:  # reported to whoever waits for the service
            if not self._control.stopped:
                log.error("the demo service did not start: %s", exc)
                print(f"证书助手演示模式：{exc}", file=sys.stderr, flush=True)
            self.error = exc
        finally:
            self._ready.set()

    def starting(self) -> bool:
        return not self._ready.is_set()

    def wait(self) -> None:
        """Until the service answers (call it on a worker thread); raises ServiceUnavailable if it will not."""
        from app.api_client import ServiceUnavailable

        if not self._ready.wait(self.timeout + 60) or self.error is not None or self._control.stopped:
            raise ServiceUnavailable(self.url, f"内置证书服务没有启动，详见 {self.data_dir / 'server.log'}")

    def stop(self) -> None:
        """Stop the service, also one still starting: the start is given up and its process ended.

        Returns at once: an operator command that is still preparing the demo data finishes on its own.
        """
        self._control.stop()
        self._ready.set()  # a client still waiting is told at once that there is no service


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
