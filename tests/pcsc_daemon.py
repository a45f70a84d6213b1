"""Start a private pcscd with the vpcd virtual readers for tests, and stop it by PID.

Only one pcscd can run per machine (its socket path is fixed). If one already runs and shows the vpcd
readers, tests use it; if one runs without them, tests stop with a clear message rather than kill it.
Test runs from several checkouts on one machine take turns: each holds a machine-wide lock file for as long
as it uses pcscd and the vpcd ports.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import List, Optional

VPCD_CONF = Path("/etc/reader.conf.d/vpcd")
SOCKET = Path("/run/pcscd/pcscd.comm")
MACHINE_LOCK = Path("/tmp/certassist-tests-pcscd.lock")


def _readers() -> List[str]:
    from smartcard.System import readers

    try:
        return [str(r) for r in readers()]
    except Exception:
        return []


class PcscDaemon:
    def __init__(self, process: Optional[subprocess.Popen], lock: Optional[int] = None) -> None:  # type: ignore[type-arg]
        self.process = process
        self.lock = lock

    def stop(self) -> None:
        try:
            self._stop_process()
        finally:
            if self.lock is not None:
                os.close(self.lock)  # releases the machine-wide lock
                self.lock = None

    def _stop_process(self) -> None:
        if self.process is None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def _take_machine_lock() -> int:
    fd = os.open(MACHINE_LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"pcscd: another test run uses pcscd; waiting for {MACHINE_LOCK}", flush=True)
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def start_pcscd(workdir: Path) -> PcscDaemon:
    lock = _take_machine_lock()
    try:
        return _start(workdir, lock)
    except BaseException:
        os.close(lock)
        raise


def _start(workdir: Path, lock: int) -> PcscDaemon:
    if any(r.startswith("Virtual PCD") for r in _readers()):
        return PcscDaemon(None, lock)  # a pcscd with vpcd is already there: use it, never kill it
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
            return PcscDaemon(process, lock)
        if process.poll() is not None:
            raise RuntimeError(f"pcscd exited with {process.returncode}; see {workdir / 'pcscd.log'}")
        time.sleep(0.1)
    PcscDaemon(process).stop()  # the caller releases the lock
    raise RuntimeError("pcscd did not show the vpcd readers within 15 s")
