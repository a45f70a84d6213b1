"""The bridge over Chromium native messaging: the prompt-free path (as Web eID does it).

A browser with the CertAssist extension starts ``certassist chrome-extension://ID/`` (the host manifest's
``path``; Chrome/Edge pass the calling extension's origin as the first argument, on Windows also
``--parent-window=N``) and talks to it over stdin/stdout: each message is a 32-bit length in native byte
order followed by UTF-8 JSON. Requests are ``{"type": "status"|"certificates"|"sign", "origin": ORIGIN,
...}`` where the *extension* sets ``origin`` from what the browser reported of the sending page
(``sender.origin``), never from the page. The host hands each request to the running assistant's bridge,
which applies the same rules as to a page calling it over HTTP (allowed origins, rate limits, its own
dialog and PIN), and answers ``{"status": HTTP status, "body": the bridge's JSON}``.
"""

from __future__ import annotations

import http.client
import json
import os
import struct
import sys
from pathlib import Path
from typing import Any, BinaryIO, Callable, Dict, List, Optional

from app.bridge.protocol import SIGN_TIMEOUT_S

HOST_NAME = "cn.certassist.bridge"
# The extension's ID follows from the public key in its manifest ("key"), so it is the same wherever it
# is loaded from; a store-published copy gets the store's ID, which is added here when there is one.
EXTENSION_IDS = ("pmheinmmaeolghbgpefmaekflgefohhl",)
EXTENSION_ORIGINS = tuple(f"chrome-extension://{ident}/" for ident in EXTENSION_IDS)
MAX_MESSAGE = 64 * 1024  # a request is ~200 bytes; Chrome allows 4 GB towards the host
ROUTES = {"status": ("GET", "/v1/status"), "certificates": ("GET", "/v1/certificates"), "sign": ("POST", "/v1/sign")}
# Where Chromium-family browsers on Linux look for a user's host manifests (Windows: the registry keys the
# MSI writes, HKCU/HKLM\Software\Google\Chrome\NativeMessagingHosts\<name> and the Edge equivalent).
LINUX_MANIFEST_DIRS = {
    "chrome": ".config/google-chrome/NativeMessagingHosts",
    "chromium": ".config/chromium/NativeMessagingHosts",
    "edge": ".config/microsoft-edge/NativeMessagingHosts",
}
Forward = Callable[[Dict[str, Any]], Dict[str, Any]]


class ProtocolError(Exception):
    pass


def read_message(stream: BinaryIO) -> Optional[Dict[str, Any]]:
    """The next message, or None at the end of input (the browser closed the port)."""
    header = stream.read(4)
    if not header:
        return None
    if len(header) != 4:
        raise ProtocolError("truncated length")
    (length,) = struct.unpack("=I", header)
    if length > MAX_MESSAGE:
        raise ProtocolError(f"message of {length} bytes is too long")
    data = stream.read(length)
    if len(data) != length:
        raise ProtocolError("truncated message")
    message = json.loads(data.decode("utf-8"))
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    return message


def write_message(stream: BinaryIO, message: Dict[str, Any]) -> None:
    data = json.dumps(message, ensure_ascii=False).encode("utf-8")
    stream.write(struct.pack("=I", len(data)) + data)
    stream.flush()


def answer(status: int, code: str, text: str) -> Dict[str, Any]:
    return {"status": status, "body": {"error": code, "message": text}}


def http_forwarder(port: int, timeout: float = SIGN_TIMEOUT_S + 30) -> Forward:
    """Hand a request to the assistant's bridge on 127.0.0.1:port with the page's origin."""

    def forward(message: Dict[str, Any]) -> Dict[str, Any]:
        route = ROUTES.get(str(message.get("type")))
        origin = message.get("origin")
        if route is None or not isinstance(origin, str) or not origin:
            return answer(400, "bad_request", "证书助手扩展发来的请求无效")
        method, path = route
        body = None
        headers = {"Origin": origin, "Host": f"127.0.0.1:{port}"}
        if method == "POST":
            body = json.dumps({"certificate": message.get("certificate"), "nonce": message.get("nonce")}).encode()
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            reply = json.loads(response.read().decode("utf-8"))
            return {"status": response.status, "body": reply}
        except (OSError, http.client.HTTPException, ValueError):
            return answer(503, "unreachable", "未检测到证书助手：请启动证书助手后重试")
        finally:
            connection.close()

    return forward


def serve(caller: str, stdin: BinaryIO, stdout: BinaryIO, forward: Forward) -> int:
    """Answer the browser's messages until it closes the port; 1 for a caller that is not our extension."""
    if caller not in EXTENSION_ORIGINS:
        return 1
    while True:
        try:
            message = read_message(stdin)
        except (ProtocolError, ValueError):
            return 2
        if message is None:
            return 0
        reply = forward(message)
        if "id" in message:
            reply["id"] = message["id"]
        write_message(stdout, reply)


def run(argv: List[str]) -> int:
    """``certassist chrome-extension://ID/ [--parent-window=N]``: the native-messaging host."""
    from app.settings import Settings

    if sys.platform == "win32":  # stdio must carry bytes unchanged (no CRLF translation)
        import msvcrt

        for stream in (sys.stdin, sys.stdout):
            msvcrt.setmode(stream.fileno(), os.O_BINARY)  # type: ignore[attr-defined]
    caller = argv[0] if argv else ""
    try:
        port = Settings.load().effective_bridge_port()
    except ValueError:
        port = 0
    return serve(caller, sys.stdin.buffer, sys.stdout.buffer, http_forwarder(port) if port else _bridge_off)


def _bridge_off(_message: Dict[str, Any]) -> Dict[str, Any]:
    return answer(503, "unreachable", "证书助手的浏览器证书登录已关闭，请在 设置 → 通用设置 中开启")


def host_manifest(executable: str) -> Dict[str, Any]:
    return {
        "name": HOST_NAME,
        "description": "CertAssist (证书助手) browser bridge",
        "path": executable,
        "type": "stdio",
        "allowed_origins": list(EXTENSION_ORIGINS),
    }


def install_manifest(directory: Path, executable: str) -> Path:
    """Write the host manifest into a browser's NativeMessagingHosts folder (Linux, or a test profile)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{HOST_NAME}.json"
    path.write_text(json.dumps(host_manifest(executable), indent=1), encoding="utf-8")
    return path
