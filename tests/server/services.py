"""A private PostgreSQL cluster for the server tests (the SMTP server is in ``tests.peers``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Optional

from tests.peers import free_port


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
