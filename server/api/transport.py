"""The HTTP connection as uvicorn runs it, with deadlines: a client that sends its request slowly (slowloris)
or never finishes it does not keep a connection open.

uvicorn (httptools) has a keep-alive timeout between requests but none for a request under way: a client
that connects and sends half a request line, or headers without their end, or half a body, is held for as
long as it likes. This protocol closes such a connection:

- the headers of the first request must arrive within ``header_timeout_s`` of the connection, those of a
  later request within ``header_timeout_s`` of its first byte;
- the body within ``body_timeout_s`` of the end of the headers;
- the request line and headers together may not exceed ``MAX_HEADER_BYTES`` (431).

A request that is not answered yet gets ``408 Request Timeout`` before the connection is closed. The limits
are class attributes, set by ``configure`` in each worker process from the service's configuration.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEADER_BYTES = 32 * 1024


def _raw_response(status: str) -> bytes:
    return f"HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode("ascii")


class GuardedHttpProtocol(HttpToolsProtocol):
    header_timeout_s = 10.0
    body_timeout_s = 20.0

    _deadline: Optional[asyncio.TimerHandle] = None
    _header_bytes = 0

    @classmethod
    def configure(cls, header_timeout_s: float, body_timeout_s: float) -> None:
        cls.header_timeout_s = header_timeout_s
        cls.body_timeout_s = body_timeout_s

    # -- the deadline ----------------------------------------------------------------------
    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        self._refuse("408 Request Timeout")

    def _refuse(self, status: str) -> None:
        """Answer ``status`` unless an answer has begun, and close the connection."""
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete or not cycle.response_started:
            self.transport.write(_raw_response(status))  # the application's answer, if any, is dropped
        self.transport.close()

    # -- uvicorn's protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout_s)  # the first request: from the connection on

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        if self._deadline is None:  # a later request on a kept-alive connection: from its first byte on
            self._arm(self.header_timeout_s)

    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count_header_bytes(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > MAX_HEADER_BYTES:
            self._refuse("431 Request Header Fields Too Large")

    def on_headers_complete(self) -> None:
        if self.transport.is_closing():
            return
        super().on_headers_complete()
        self._arm(self.body_timeout_s)

    def on_body(self, body: bytes) -> None:
        if not self.transport.is_closing():
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            super().on_message_complete()


def uvicorn_options(header_timeout_s: float, body_timeout_s: float, workers: int = 1) -> dict[str, Any]:
    """What ``uvicorn.run`` needs for this protocol, and never to believe forwarding headers itself (the
    service does that, only from its trusted proxies: server.api.guards).

    Worker processes name the protocol by its import path: they import it once they answer uvicorn's health
    checks (a class would be imported while the worker unpickles its start-up data, before it answers, and a
    loaded machine then takes longer than the check allows). ``server.app.app_from_environment`` sets their
    deadlines."""
    GuardedHttpProtocol.configure(header_timeout_s, body_timeout_s)
    protocol: Any = GuardedHttpProtocol if workers == 1 else f"{__name__}:GuardedHttpProtocol"
    return {
        "http": protocol,
        "proxy_headers": False,
        "forwarded_allow_ips": "",
        "timeout_keep_alive": 5,
        "server_header": False,
        "timeout_worker_healthcheck": 30,  # seconds a worker may take to answer; slow starts are no hang
    }
