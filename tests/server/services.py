"""A private PostgreSQL cluster and the service as a real process, for the server tests (the SMTP server is in
``tests.peers``)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Optional

import httpx

from tests.peers import REPO, free_port, stop_process


def _pg_bin(name: str) -> str:
    for version in ("17", "16", "15", "14", "13"):
        path = Path(f"/usr/lib/postgresql/{version}/bin/{name}")
        if path.exists():
            return str(path)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError("PostgreSQL server binaries are required (Debian package postgresql-15)")
    return found


class PostgresCluster:
    """initdb + pg_ctl in a temp dir, trust auth on 127.0.0.1 only, stopped by PID at the end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process_pid: Optional[int] = None

    def _run(self, *args: str) -> None:
        command = list(args)
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresCluster:
        data = self.directory / "data"
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            _pg_bin("initdb"), "-D", str(data), "--auth=trust", "--username=postgres", "--encoding=UTF8", "--no-sync"
        )
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        )
        self._run(_pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.directory / "log"), "-w", "start")
        self.process_pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        return self

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.process_pid is None:
            return
        try:
            os.kill(self.process_pid, 15)  # SIGTERM: "smart" shutdown
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(self.process_pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(self.process_pid, 9)


class ServiceProcess:
    """`certassist-server ... serve` as a real process on a loopback port, stopped by PID (SIGTERM, then SIGKILL)."""

    def __init__(self, data_dir: Path, *options: str, env: Optional[Dict[str, str]] = None, port: int = 0) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.options = options
        self.env = dict(os.environ, **(env or {}))
        self.process: Optional[subprocess.Popen] = None  # type: ignore[type-arg]
        self.log = data_dir.parent / f"{data_dir.name}-service.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *serve_options: str, timeout: float = 90.0) -> ServiceProcess:
        command = [sys.executable, "-c", "from server.cli import run; run()", "--data-dir", str(self.data_dir)]
        command += ["--port", str(self.port), *self.options, "serve", *serve_options]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, env=self.env, cwd=REPO)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the service did not start: {self.log.read_text(errors='replace')[-2000:]}")

    def children(self) -> List[int]:
        """The PIDs of the worker processes (and any other child)."""
        assert self.process is not None
        found = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in found]

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is not None:
            stop_process(self.process, timeout)
            self.process = None


def issuance_benchmark() -> ModuleType:
    """benchmarks/issuance.py: tests drive the server with the benchmark's own preparation and load generator."""
    path = REPO / "benchmarks" / "issuance.py"
    spec = importlib.util.spec_from_file_location("issuance_benchmark", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pid_connected_to(port: int, candidates: List[int]) -> Optional[int]:
    """Which of ``candidates`` has a TCP connection to 127.0.0.1:``port`` (from /proc/net/tcp and the processes'
    file descriptors)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].split(":")[1], 16)
        if remote_port == port and fields[3] == "01":  # ESTABLISHED
            inodes.add(fields[9])
    for pid in candidates:
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if any(link.startswith("socket:[") and link[8:-1] in inodes for link in links):
            return pid
    return None


class SmtpRelay:
    """A TCP relay in front of the test SMTP server that can hold connections instead: a client then waits for
    the server's greeting (a mail "being sent"), until the relay passes connections on again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.holding = threading.Event()
        self.held = threading.Event()  # set when a connection arrived while holding
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open: List[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            self._open.append(client)
            if self.holding.is_set():
                self.held.set()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._open.append(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()
        for sock in self._open:
            sock.close()
