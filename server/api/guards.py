"""Request-level protections, as ASGI middleware around the app (server.app adds them):

- ``ForwardedFrom``: the client's address (rate limits, audit log) and scheme come from X-Forwarded-For /
  Forwarded only when the connection comes from a configured proxy; otherwise the headers are ignored.
- ``BodyLimit``: a body over the limit is refused with 413 before it is read (Content-Length), or as soon as
  the bytes received pass the limit (a body sent without a length); the connection is then closed.
- ``SecurityHeaders``: nosniff, no framing, no referrer, a strict content security policy, no caching of API
  answers, and HSTS on https.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any, Awaitable, Callable, List, MutableMapping, Optional, Sequence, Tuple, Union

from server.config import parse_networks

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


def _header(scope: Scope, name: bytes) -> List[bytes]:
    return [value for key, value in scope.get("headers", ()) if key == name]


def _error_response(status: int, code: str, message: str, close: bool = False) -> Tuple[Message, Message]:
    body = json.dumps({"error": code, "message": message}, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    return (
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    )


# -- trusted proxies ---------------------------------------------------------------------------------------
def _address(text: str) -> Optional[Address]:
    text = text.strip().strip('"')
    if text.startswith("["):  # Forwarded: for="[2001:db8::1]:4711"
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # an IPv4 address with a port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None  # "unknown", an obfuscated identifier (RFC 7239 §6.3) or junk


def _forwarded_for(values: Sequence[bytes]) -> List[str]:
    """The ``for=`` of every element of the Forwarded headers (RFC 7239), in order."""
    found = []
    for value in values:
        for element in value.decode("latin-1").split(","):
            for pair in element.split(";"):
                name, _, item = pair.partition("=")
                if name.strip().lower() == "for":
                    found.append(item)
    return found


def _forwarded_proto(values: Sequence[bytes]) -> Optional[str]:
    protos = []
    for value in values:
        for element in value.decode("latin-1").split(","):
            for pair in element.split(";"):
                name, _, item = pair.partition("=")
                if name.strip().lower() == "proto":
                    protos.append(item.strip().strip('"').lower())
    return protos[-1] if protos else None


class ForwardedFrom:
    """The client is the peer of the connection, unless the peer is a trusted proxy: then it is the address
    its forwarding header names, read from the right (the entry our proxy added) past every trusted proxy,
    so that entries a client wrote itself are never believed. Off (no proxies) by default."""

    def __init__(self, app: ASGIApp, proxies: Sequence[str], header: str = "x-forwarded-for") -> None:
        if header not in ("x-forwarded-for", "forwarded"):
            raise ValueError("the forwarding header is x-forwarded-for or forwarded")
        self.app = app
        self.networks = parse_networks(proxies)
        self.header = header

    def _trusted(self, address: Optional[Address]) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def client_of(self, scope: Scope) -> Tuple[Optional[str], Optional[str]]:
        """(the client's address, the scheme the proxy was reached with), or Nones to keep the peer's."""
        peer = scope.get("client")
        if not peer or not self._trusted(_address(str(peer[0]))):
            return None, None
        if self.header == "forwarded":
            values = _header(scope, b"forwarded")
            hops, proto = _forwarded_for(values), _forwarded_proto(values)
        else:
            hops = [hop for value in _header(scope, b"x-forwarded-for") for hop in value.decode("latin-1").split(",")]
            protos = _header(scope, b"x-forwarded-proto")
            proto = protos[-1].decode("latin-1").split(",")[-1].strip().lower() if protos else None
        client = None
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                break  # unreadable: nothing to its left can be told apart from a forgery
            client = str(address)
            if not self._trusted(address):
                break
        return client, proto if proto in ("http", "https") else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.networks:
            client, proto = self.client_of(scope)
            if client is not None:
                scope["client"] = (client, 0)
            if proto is not None:
                scope["scheme"] = proto
        await self.app(scope, receive, send)


# -- body size -----------------------------------------------------------------------------------------
class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _refusal(self) -> Tuple[Message, Message]:
        kb = max(1, self.max_bytes // 1024)
        return _error_response(413, "request_too_large", f"请求内容过大（上限{kb}KB），请检查提交的内容", close=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lengths = _header(scope, b"content-length")
        if lengths:
            try:
                declared = int(lengths[0])
            except ValueError:
                declared = self.max_bytes + 1  # not a length: uvicorn's parser refuses these anyway
            if declared > self.max_bytes:
                for message in self._refusal():
                    await send(message)
                return
        received = 0
        too_large = False
        answered = False

        async def counted() -> Message:
            nonlocal received, too_large
            if too_large:  # never read on past the limit
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if too_large:  # whatever the app makes of a cut-off body, the answer is 413
                if not answered:
                    answered = True
                    for refusal in self._refusal():
                        await send(refusal)
                return
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        await self.app(scope, counted, guarded_send)
        if too_large and not answered:
            for refusal in self._refusal():
                await send(refusal)


# -- security headers ------------------------------------------------------------------------------------
API_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The API browser (/docs): Swagger UI's scripts and styles from this service only (server.api.docs).
DOCS_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    b"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
HSTS = b"max-age=31536000"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, docs_prefix: str = "/docs") -> None:
        self.app = app
        self.docs_prefix = docs_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        added = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"content-security-policy", DOCS_CSP if path.startswith(self.docs_prefix) else API_CSP),
        ]
        if path.startswith("/api/"):
            added.append((b"cache-control", b"no-store"))
        if scope.get("scheme") == "https":
            added.append((b"strict-transport-security", HSTS))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _value in headers}
                headers.extend((name, value) for name, value in added if name not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
