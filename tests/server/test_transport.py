"""The real `certassist-server` process against misbehaving clients (issue 13.4, 13.5, 13.9): forwarding headers
from a loopback client, slowloris, a 256 MB body, the SMTP password and the worker processes."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Dict, Iterator, List

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.server.services import ServiceProcess

pytestmark = pytest.mark.integration


@pytest.fixture()
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    running = ServiceProcess(tmp_path / "data", "--header-timeout", "1", "--body-timeout", "1").start()
    yield running
    running.stop()


def register(service: ServiceProcess, username: str, headers: Dict[str, str]) -> int:
    body = {
        "username": username,
        "applicant_name": "张三",
        "account_type": "natural",
        "id_number": "11010519491231002X",
        "email": f"{username}@example.com",
    }
    return httpx.post(f"{service.url}/api/v1/accounts", json=body, headers=headers, timeout=30).status_code


def test_a_loopback_client_cannot_choose_its_identity_with_forwarding_headers(service: ServiceProcess) -> None:
    """uvicorn believes X-Forwarded-For from loopback by default; the service believes it from no one unless
    configured: every request here is the same client, and registrations are limited to 10 an hour."""
    statuses = [
        register(service, f"spoof{n}", {"x-forwarded-for": f"203.0.113.{n}", "forwarded": f"for=198.51.100.{n}"})
        for n in range(11)
    ]
    assert statuses == [201] * 10 + [429]
    engine = create_engine(f"sqlite:///{service.data_dir / 'certassist.db'}")
    with engine.connect() as connection:
        clients = set(
            connection.execute(text("SELECT client FROM audit_log WHERE event = 'account_registered'")).scalars()
        )
    engine.dispose()
    assert clients == {"127.0.0.1"}


def test_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    proxied = ServiceProcess(tmp_path / "data", "--trusted-proxy", "127.0.0.1/32").start()
    try:
        statuses = [register(proxied, f"viaproxy{n}", {"x-forwarded-for": f"203.0.113.{n}"}) for n in range(11)]
        assert statuses == [201] * 11  # eleven clients behind the proxy, each within its own limit
    finally:
        proxied.stop()


def _half_requests(port: int) -> List[socket.socket]:
    head = b"POST /api/v1/unlock/request HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    opened = []
    for index in range(160):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(head if index < 80 else head + b'Content-Length: 100\r\n\r\n{"a":')
        opened.append(sock)
    return opened


def test_slowloris_connections_are_closed_and_others_served(service: ServiceProcess) -> None:
    """80 connections that stop halfway through their headers and 80 halfway through their body (the
    service here gives each 1 s): /health is answered meanwhile and every one of them is closed."""
    half = _half_requests(service.port)
    try:
        assert httpx.get(f"{service.url}/health", timeout=5).status_code == 200
        deadline = time.monotonic() + 15
        answers = []
        for sock in half:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            received = b""
            while True:
                chunk = sock.recv(4096)  # a timeout here (socket.timeout) fails the test: still held
                if not chunk:
                    break
                received += chunk
            answers.append(received)
        assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers)
        assert time.monotonic() < deadline
    finally:
        for sock in half:
            sock.close()


def _post_head(framing: bytes) -> bytes:
    return b"POST /api/v1/unlock/request HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + framing + b"\r\n"


def _until_closed(sock: socket.socket) -> bytes:
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:  # closed with our unread data in its buffer: what came before still counts
        pass
    return received


def _peak_kb(pid: int) -> int:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1])


def test_a_256_mb_body_is_refused_early_and_costs_no_memory(service: ServiceProcess) -> None:
    assert service.process is not None
    before = _peak_kb(service.process.pid)
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as sock:
        sock.sendall(_post_head(f"Content-Length: {256 * 1024 * 1024}\r\n".encode()))
        answer = _until_closed(sock)  # nothing of the body was sent: the answer comes before it, then the close
        assert answer.startswith(b"HTTP/1.1 413") and b"request_too_large" in answer
    sent = 0
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as sock:
        sock.sendall(_post_head(b"Transfer-Encoding: chunked\r\n"))
        piece = b"A" * (1024 * 1024)
        chunk = f"{len(piece):x}\r\n".encode() + b'{"certificate": "' + piece[17:] + b"\r\n"
        try:
            while sent < 256 * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(piece)
        except OSError:  # the service closed the connection after its answer
            pass
        answer = _until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 413")
    assert sent <= 32 * 1024 * 1024  # what the sockets' buffers took before the close, not 256 MB
    assert (_peak_kb(service.process.pid) - before) < 32 * 1024


def test_workers_never_see_the_smtp_password_and_keep_the_deadlines(tmp_path: Path) -> None:
    secret = "smtp-password-7f3a9c"
    running = ServiceProcess(
        tmp_path / "data",
        *("--mail", "smtp", "--smtp-user", "mailer", "--header-timeout", "1"),
        env={"CERTASSIST_SMTP_PASSWORD": secret},
    ).start("--workers", "2")
    try:
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:  # the workers' deadlines
            sock.sendall(b"GET /health HTTP/1.1\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 408")
        workers = [pid for pid in running.children() if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(workers) == 2
        for pid in workers:
            environment = Path(f"/proc/{pid}/environ").read_bytes()
            assert secret.encode() not in environment
            named = [item for item in environment.split(b"\0") if item.startswith(b"CERTASSIST_SERVER_CONFIG_FILE=")]
            [config_file] = [Path(item.split(b"=", 1)[1].decode()) for item in named]
        # The workers read it from a file only this user can read, in the 0700 data dir.
        assert config_file.stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
        assert json.loads(config_file.read_text())["mail"]["smtp_password"] == secret
    finally:
        running.stop()
    assert not config_file.exists()
