"""Start a private pcscd with the vpcd virtual readers for tests, and stop it by PID.

Only one pcscd can run per machine (its socket path is fixed). If one already runs and shows the vpcd
readers, tests use it; if one runs without them, tests stop with a clear message rather than kill it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import List, Optional

VPCD_CONF = Path("/etc/reader.conf.d/vpcd")
SOCKET = Path("/run/pcscd/pcscd.comm")


def _readers() -> List[str]:
    from smartcard.System import readers

    try:
        return [str(r) for r in readers()]
    except Exception:
        return []


class PcscDaemon:
    def __init__(self, process: Optional[subprocess.Popen]) -> None:  # type: ignore[type-arg]
        self.process = process

    def stop(self) -> None:
        if self.process is None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def start_pcscd(workdir: Path) -> PcscDaemon:
    if any(r.startswith("Virtual PCD") for r in _readers()):
        return PcscDaemon(None)  # a pcscd with vpcd is already there: use it, never kill it
    if SOCKET.exists() and _readers():
        raise RuntimeError("a pcscd without the vpcd readers is running; tests will not stop someone else's daemon")
    pcscd = shutil.which("pcscd") or "/usr/sbin/pcscd"
    if not Path(pcscd).exists() or not VPCD_CONF.exists():
        raise RuntimeError("pcscd and vsmartcard-vpcd are required (./test.sh installs them)")
    conf = workdir / "reader.conf.d"
    conf.mkdir(parents=True)
    shutil.copy(VPCD_CONF, conf / "vpcd")
    SOCKET.parent.mkdir(parents=True, exist_ok=True)
    log = (workdir / "pcscd.log").open("wb")
    process = subprocess.Popen([pcscd, "--foreground", "--config", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if any(r.startswith("Virtual PCD") for r in _readers()):
            return PcscDaemon(process)
        if process.poll() is not None:
            raise RuntimeError(f"pcscd exited with {process.returncode}; see {workdir / 'pcscd.log'}")
        time.sleep(0.1)
    PcscDaemon(process).stop()
    raise RuntimeError("pcscd did not show the vpcd readers within 15 s")
