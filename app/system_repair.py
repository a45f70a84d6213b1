"""The repairs 环境修复 can make on this computer, where the system offers a way to make them.

Each repair is offered only where it exists: starting the smart-card service needs systemd (Linux, as
root or through pkexec) or the Windows service manager (elevated through UAC); installing the service's
root certificate needs the user's certificate store (Windows ``certutil -user``, or an NSS database in
``~/.pki/nssdb`` with NSS's ``certutil`` on Linux). Nothing here runs without the user asking for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional

from app.messages import Message, message
from gm.x509 import Certificate

TIMEOUT = 120  # seconds: an elevation prompt waits for the user


class RepairFailed(Exception):
    """The repair was tried and did not work; ``text`` says what happened."""

    def __init__(self, text: Message) -> None:
        super().__init__(str(text))
        self.text = text


def _run(command: List[str]) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    try:
        result = subprocess.run(command, capture_output=True, timeout=TIMEOUT, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RepairFailed(message("无法运行 {tool}：{detail}", tool=command[0], detail=str(exc))) from exc
    return result


def _last_line(result: subprocess.CompletedProcess) -> str:  # type: ignore[type-arg]
    text = (result.stderr or result.stdout or b"").decode("utf-8", "replace").strip().splitlines()
    return text[-1] if text else f"exit {result.returncode}"


# -- the smart-card service -------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceStarter:
    """How to start the smart-card service here: one command (elevated where needed)."""

    command: List[str]
    elevated: Optional[Callable[[], None]] = None  # Windows: ShellExecute "runas" instead of a command

    def start(self) -> None:
        if self.elevated is not None:
            self.elevated()
            return
        result = _run(self.command)
        if result.returncode != 0:
            raise RepairFailed(message("启动智能卡服务失败：{detail}", detail=_last_line(result)))


def smartcard_service_starter(
    platform: str = sys.platform,
    which: Callable[[str], Optional[str]] = shutil.which,
    systemd_running: Optional[bool] = None,
    is_root: Optional[bool] = None,
) -> Optional[ServiceStarter]:
    """The way to start the PC/SC service on this system, or None where there is none to offer."""
    if platform.startswith("win"):
        return ServiceStarter(["sc.exe", "start", "SCardSvr"], elevated=_windows_start_scardsvr)
    if not platform.startswith("linux"):
        return None  # macOS has its smart-card service built in
    if systemd_running is None:
        systemd_running = Path("/run/systemd/system").is_dir()
    systemctl = which("systemctl")
    if not systemd_running or systemctl is None:
        return None
    units = ["pcscd.socket", "pcscd.service"]
    if is_root is None:
        is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if is_root:
        return ServiceStarter([systemctl, "start", *units])
    pkexec = which("pkexec")
    if pkexec is None:
        return None
    return ServiceStarter([pkexec, systemctl, "start", *units])


def _windows_start_scardsvr() -> None:  # pragma: no cover - Windows only
    import ctypes

    shell32 = ctypes.windll.shell32  # type: ignore[attr-defined]
    # "runas" asks for elevation (UAC); SW_HIDE: no console window. Returns > 32 on success.
    code = shell32.ShellExecuteW(None, "runas", "sc.exe", "start SCardSvr", None, 0)
    if code <= 32:
        raise RepairFailed(
            message("启动智能卡服务失败（代码 {code}）：请以管理员身份启动「Smart Card」服务", code=code)
        )


# -- the user's trust store -------------------------------------------------------------------


@dataclass(frozen=True)
class TrustStore:
    """The user's store of trusted root certificates, through the system's own tool."""

    kind: str  # "windows" or "nss"
    tool: str
    database: str = ""  # NSS: sql:<dir>

    def nickname(self, cert: Certificate) -> str:
        return f"CertAssist {cert.common_name or cert.fingerprint[:16]}"

    def contains(self, cert: Certificate) -> bool:
        if self.kind == "windows":
            return _run([self.tool, "-user", "-store", "Root", f"{cert.serial_number:x}"]).returncode == 0
        listed = _run([self.tool, "-d", self.database, "-L", "-n", self.nickname(cert), "-r"])  # raw DER
        return listed.returncode == 0 and listed.stdout == cert.to_der()

    def install(self, cert: Certificate) -> None:
        with tempfile.TemporaryDirectory(prefix="certassist-root-") as folder:
            path = Path(folder) / "root.cer"
            path.write_bytes(cert.to_der())
            if self.kind == "windows":
                command = [self.tool, "-user", "-addstore", "-f", "Root", str(path)]
            else:
                command = [
                    self.tool,
                    "-d",
                    self.database,
                    "-A",
                    "-t",
                    "C,,",
                    "-n",
                    self.nickname(cert),
                    "-i",
                    str(path),
                ]
            result = _run(command)
        if result.returncode != 0:
            raise RepairFailed(message("安装根证书失败：{detail}", detail=_last_line(result)))


def user_trust_store(
    platform: str = sys.platform,
    which: Callable[[str], Optional[str]] = shutil.which,
    home: Optional[Path] = None,
) -> Optional[TrustStore]:
    """The current user's trust store where one can be written, or None."""
    if platform.startswith("win"):
        tool = which("certutil.exe") or which("certutil")
        return TrustStore("windows", tool) if tool else None
    tool = which("certutil")  # NSS's certutil (Debian: libnss3-tools); the browsers' per-user store
    nssdb = (home or Path.home()) / ".pki" / "nssdb"
    if tool is None or not (nssdb / "cert9.db").exists():
        return None
    return TrustStore("nss", tool, f"sql:{nssdb}")
