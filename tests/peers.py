"""Peers the client's tests talk to, run as separate processes on the issuing service's Python.

The client's tests also run on Python 3.8 (Windows 7's), where the service's code and the SMTP server
(FastAPI, SQLAlchemy, aiosmtpd: Python >= 3.10) are not installed. So they always reach those peers as
processes, started by the interpreter ``service_python()`` names (the same rule as ``certassist --demo``:
``$CERTASSIST_SERVICE_PYTHON``, which ``./test.sh`` sets to ``.venv/bin/python`` for the 3.8 run, else
this interpreter when it is recent enough).

The SMTP server is aiosmtpd in a child process that stores each message it receives as a numbered
``.eml`` file (written to a temporary name, then renamed); ``Inbox`` reads that folder.
Child usage: python -m tests.peers smtp MAILDIR (prints the port it listens on, then serves until
SIGTERM or until its stdin closes).
"""

from __future__ import annotations

import email
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, Dict, List, Optional

from app.demo import service_python

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:  # type: ignore[type-arg]
    """SIGTERM, then SIGKILL after ``timeout`` seconds; always reaps the process."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Inbox:
    """Every message the SMTP server has received so far, oldest first."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._parsed: Dict[str, EmailMessage] = {}

    @property
    def messages(self) -> List[EmailMessage]:
        for path in sorted(self.directory.glob("*.eml")):
            if path.name not in self._parsed:
                self._parsed[path.name] = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        return [self._parsed[name] for name in sorted(self._parsed)]

    def wait_for(self, to: str, subject_part: str, timeout: float = 10.0) -> EmailMessage:
        """The newest message to ``to`` whose subject contains ``subject_part``, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        while True:
            for message in reversed(self.messages):
                if message["To"] == to and subject_part in str(message["Subject"]):
                    return message
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail to {to} with {subject_part!r}")
            time.sleep(0.02)

    def matching(self, to: str, subject_part: str) -> List[EmailMessage]:
        """The messages to ``to`` whose subject contains ``subject_part`` received so far, oldest first."""
        return [m for m in self.messages if m["To"] == to and subject_part in str(m["Subject"])]

    def wait_for_count(self, to: str, subject_part: str, count: int, timeout: float = 10.0) -> List[EmailMessage]:
        """Wait until ``count`` such messages arrived; returns them (more may follow: check afterwards)."""
        deadline = time.monotonic() + timeout
        while len(found := self.matching(to, subject_part)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} mails to {to} with {subject_part!r}, expected {count}")
            time.sleep(0.02)
        return found

    @staticmethod
    def body(message: EmailMessage) -> str:
        return str(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]


class SmtpServer:
    """A real SMTP server (aiosmtpd) on loopback, in its own process, stopped by PID."""

    def __init__(self, directory: Path) -> None:
        self.inbox = Inbox(directory)
        self.port = 0
        self.process: Optional[subprocess.Popen] = None  # type: ignore[type-arg]

    def start(self) -> SmtpServer:
        self.inbox.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [service_python(), "-m", "tests.peers", "smtp", str(self.inbox.directory)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # the port, once it listens
        if not line.strip().isdigit():
            stop_process(self.process)
            raise RuntimeError(f"the SMTP server did not start (exit code {self.process.returncode})")
        self.port = int(line)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


def _serve_smtp(directory: Path) -> None:
    """The child: aiosmtpd's SMTP protocol on a loopback port the OS picks."""
    import asyncio
    import signal
    import threading

    from aiosmtpd.smtp import SMTP

    class Maildir:
        def __init__(self) -> None:
            self.count = 0

        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            self.count += 1
            final = directory / f"{self.count:06d}.eml"
            partial = directory / f".{final.name}.part"
            partial.write_bytes(envelope.content)
            partial.replace(final)  # the reader never sees half a message
            return "250 OK"

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        handler = Maildir()
        server = await loop.create_server(lambda: SMTP(handler, hostname="127.0.0.1"), "127.0.0.1", 0)
        loop.add_signal_handler(signal.SIGTERM, done.set)
        # The parent holds our stdin: when it goes away without stopping us, so do we.
        threading.Thread(target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(done.set)), daemon=True).start()
        print(server.sockets[0].getsockname()[1], flush=True)
        await done.wait()
        server.close()
        await server.wait_closed()

    asyncio.run(serve())


if __name__ == "__main__":
    if sys.argv[1:2] != ["smtp"] or len(sys.argv) != 3:
        sys.exit("usage: python -m tests.peers smtp MAILDIR")
    _serve_smtp(Path(sys.argv[2]))
