"""The bridge over HTTP+JSON on 127.0.0.1: a small threaded server on its own threads, never the GUI's.

Every reply carries ``Cache-Control: no-store``; CORS headers name the one allowed origin of the request
(never a wildcard) and only when it is allowed; refused requests get no CORS headers, so the page that
sent them cannot even read the refusal.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional, Tuple

from app.bridge.protocol import MAX_BODY, BridgeCore, Reply, refusal
from app.bridge.rules import Refused

log = logging.getLogger(__name__)
BIND_ADDRESS = "127.0.0.1"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False  # a second bridge on the same port must fail, not share it
    core: BridgeCore


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "CertAssist-Bridge"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 10.0  # a client that stops sending mid-request loses its thread after this long

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:
        log.debug("bridge: " + format, *args)

    def _headers(self) -> Tuple[Optional[str], Optional[str]]:
        return self.headers.get("Host"), self.headers.get("Origin")

    def do_OPTIONS(self) -> None:
        host, origin = self._headers()
        try:
            allowed = self.server.core.check(self.headers.get("Access-Control-Request-Method", "GET"), host, origin)
        except Refused as exc:
            self._send(refusal(exc))
            return
        self.send_response(204)
        self._cors(allowed)
        self.send_header("Access-Control-Allow-Methods", "GET, POST")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Access-Control-Max-Age", "600")
        if self.headers.get("Access-Control-Request-Private-Network", "").lower() == "true":
            self.send_header("Access-Control-Allow-Private-Network", "true")  # Chrome's earlier preflight
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        host, origin = self._headers()
        self._send(self.server.core.handle("GET", self.path, host, origin, b""))

    def do_POST(self) -> None:
        host, origin = self._headers()
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self._send(Reply(413, {"error": "too_large", "message": "请求内容过长"}))
            return
        body = self.rfile.read(length)
        self._send(self.server.core.handle("POST", self.path, host, origin, body))

    def _cors(self, origin: str) -> None:
        self.send_header("Access-Control-Allow-Origin", origin)
        self.send_header("Vary", "Origin")

    def _send(self, reply: Reply) -> None:
        data = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
        self.send_response(reply.status)
        if reply.origin is not None:
            self._cors(reply.origin)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class BridgeServer:
    """``start()`` binds 127.0.0.1:port (OSError when it is taken) and serves on a background thread."""

    def __init__(self, core: BridgeCore, port: int) -> None:
        self.core = core
        self.port = port
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        server = _Server((BIND_ADDRESS, self.port), _Handler)
        server.core = self.core
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="bridge-http", daemon=True)
        self._thread.start()
        log.info("browser bridge listening on %s:%d", BIND_ADDRESS, self.port)

    def stop(self, wait: bool = True) -> None:
        """Stop serving and close the port; ``wait=False`` does it on a background thread (the GUI's
        thread must not wait the fraction of a second ``serve_forever`` takes to notice)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return

        def close() -> None:
            server.shutdown()
            server.server_close()
            if thread is not None:
                thread.join(5)

        if wait:
            close()
        else:
            threading.Thread(target=close, name="bridge-http-stop", daemon=True).start()
