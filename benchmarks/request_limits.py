#!/usr/bin/env python3
"""What a misbehaving client costs the issuing service (issue 13.5): a real `certassist-server` process (one
worker) on loopback and a fresh SQLite data dir.

1. Slowloris: 80 connections that send half a request's headers and 80 that send the headers and half the
   body, then stop. Measured: whether /health is still answered meanwhile, and how long the service keeps
   those connections open (capped at --hold-cap seconds).
2. A 256 MB body, declared with Content-Length and sent without a length (chunked): the answer, the time to
   it, how many bytes the service took before answering or closing, and the growth of the worker's peak
   memory (VmHWM).

    .venv/bin/python benchmarks/request_limits.py [--source DIR] [--hold-cap 120]

``--source`` runs the service from another checkout (e.g. ``git worktree``/``git archive`` of an older
commit) with this environment, to measure before and after a change. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parent.parent
BIG = 256 * 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(source: Path, data: Path, port: int, extra: List[str]) -> subprocess.Popen:  # type: ignore[type-arg]
    command = [sys.executable, "-c", "from server.cli import run; run()", "--data-dir", str(data)]
    command += ["--port", str(port), *extra]
    process = subprocess.Popen(command, cwd=source, env=dict(os.environ, PYTHONPATH=str(source)))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if request(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2)[0] == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the service did not start")


def request(port: int, data: bytes, timeout: float) -> Tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


def peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def slowloris(port: int, hold_cap: float) -> Dict[str, Any]:
    head = b"POST /api/v1/unlock/request HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    socks: List[socket.socket] = []
    for index in range(160):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(head if index < 80 else head + b'Content-Length: 100\r\n\r\n{"a":')
        sock.setblocking(False)
        socks.append(sock)
    started = time.monotonic()
    time.sleep(0.5)
    try:
        t0 = time.monotonic()
        health = request(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 10)[0]
        health_ms = (time.monotonic() - t0) * 1000
    except OSError:
        health, health_ms = 0, -1.0
    closed_at: Dict[int, float] = {}
    while len(closed_at) < len(socks) and time.monotonic() - started < hold_cap:
        for index, sock in enumerate(socks):
            if index in closed_at:
                continue
            try:
                if sock.recv(4096) == b"":
                    closed_at[index] = time.monotonic() - started
            except BlockingIOError:
                pass
            except OSError:
                closed_at[index] = time.monotonic() - started
        time.sleep(0.1)
    for sock in socks:
        sock.close()
    headers_held = [closed_at.get(i, hold_cap) for i in range(80)]
    bodies_held = [closed_at.get(i, hold_cap) for i in range(80, 160)]
    return {
        "health_status_during": health,
        "health_ms_during": round(health_ms, 1),
        "half_headers_held_s_max": round(max(headers_held), 1),
        "half_bodies_held_s_max": round(max(bodies_held), 1),
        "still_open_at_cap": len(socks) - len(closed_at),
    }


def big_body(port: int, pid: int, chunked: bool) -> Dict[str, Any]:
    before = peak_kb(pid)
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    framing = b"Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {BIG}\r\n".encode()
    sock.sendall(
        b"POST /api/v1/unlock/request HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + framing + b"\r\n"
    )
    block = b'{"certificate": "' + b"A" * (1024 * 1024 - 17)
    sent = 0
    started = time.monotonic()
    answer = b""
    sock.setblocking(False)
    while sent < BIG:
        piece = block if sent == 0 else b"A" * len(block)
        data = (f"{len(piece):x}\r\n".encode() + piece + b"\r\n") if chunked else piece
        try:
            sock.setblocking(True)
            sock.settimeout(30)
            sock.sendall(data)
        except OSError:
            break
        sent += len(piece)
        sock.setblocking(False)
        try:
            answer += sock.recv(65536)
            if answer:
                break
        except BlockingIOError:
            pass
    if not answer:
        try:
            if chunked and sent >= BIG:
                sock.setblocking(True)
                sock.sendall(b"0\r\n\r\n")
            sock.setblocking(True)
            sock.settimeout(120)
            answer = sock.recv(65536)
        except OSError:
            pass
    elapsed = time.monotonic() - started
    sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return {
        "status": status,
        "seconds": round(elapsed, 2),
        "mb_sent_before_answer": round(sent / 1048576, 1),
        "peak_memory_growth_mb": round((peak_kb(pid) - before) / 1024, 1),
        "peak_memory_mb": round(peak_kb(pid) / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=REPO)
    parser.add_argument("--hold-cap", type=float, default=120.0)
    parser.add_argument("--server-args", default="", help="extra arguments for certassist-server")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="certassist-limits-"))
    port = free_port()
    process: Optional[subprocess.Popen] = None  # type: ignore[type-arg]
    try:
        process = start(args.source.resolve(), data, port, args.server_args.split())
        results = {
            "slowloris": slowloris(port, args.hold_cap),
            "content_length_256mb": big_body(port, process.pid, chunked=False),
            "chunked_256mb": big_body(port, process.pid, chunked=True),
        }
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    for name, values in results.items():
        print(f"{name}: {values}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
