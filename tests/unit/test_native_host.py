"""The native-messaging host: framing, the caller check, forwarding to a real bridge with the page's origin,
and that the extension, the host manifests and the MSI name the same host and extension ID."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any, Dict, List

import pytest

from app.bridge.http import BridgeServer
from app.bridge.native import (
    EXTENSION_IDS,
    EXTENSION_ORIGINS,
    HOST_NAME,
    ProtocolError,
    host_manifest,
    http_forwarder,
    read_message,
    serve,
    write_message,
)
from app.bridge.protocol import BridgeCore, CertificateInfo, SignRequest, SignResult
from app.bridge.rules import BridgeRules
from tests.conftest import REPO
from tests.peers import free_port

PORTAL = "https://ca.example.cn"
CERT = CertificateInfo("0A", "张三", "CN=CA", "2030-01-01", "soft", "软证书 zs")


def frames(*messages: Dict[str, Any]) -> io.BytesIO:
    out = io.BytesIO()
    for message in messages:
        write_message(out, message)
    return io.BytesIO(out.getvalue())


def replies(stream: io.BytesIO) -> List[Dict[str, Any]]:
    stream.seek(0)
    found: List[Dict[str, Any]] = []
    while True:
        message = read_message(stream)
        if message is None:
            return found
        found.append(message)


def test_framing_round_trip_and_limits() -> None:
    stream = frames({"type": "status", "origin": PORTAL}, {"a": "中文"})
    assert read_message(stream) == {"type": "status", "origin": PORTAL}
    assert read_message(stream) == {"a": "中文"}
    assert read_message(stream) is None
    with pytest.raises(ProtocolError):
        read_message(io.BytesIO(struct.pack("=I", 10**7) + b"{}"))
    with pytest.raises(ProtocolError):
        read_message(io.BytesIO(struct.pack("=I", 10) + b"{}"))
    with pytest.raises(ProtocolError):
        read_message(io.BytesIO(struct.pack("=I", 2) + b"[]"))


def test_only_our_extension_may_call_and_a_bad_frame_ends_the_host() -> None:
    called: List[Dict[str, Any]] = []

    def forward(message: Dict[str, Any]) -> Dict[str, Any]:
        called.append(message)
        return {"status": 200, "body": {}}

    out = io.BytesIO()
    stranger = "chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"
    assert serve(stranger, frames({"type": "status"}), out, forward) == 1
    assert called == [] and out.getvalue() == b""
    assert serve(EXTENSION_ORIGINS[0], io.BytesIO(b"\x05\x00"), out, forward) == 2
    assert called == [] and out.getvalue() == b""


@pytest.fixture()
def bridge() -> Any:
    port = free_port()
    signed: List[SignRequest] = []

    def sign(request: SignRequest, _timeout: float) -> SignResult:
        signed.append(request)
        return SignResult(b"cert", b"sig")

    core = BridgeCore(lambda: BridgeRules(port, frozenset({PORTAL})), lambda: [CERT], sign, "9.9")
    server = BridgeServer(core, port)
    server.start()
    yield port, signed
    server.stop()


def test_requests_reach_the_bridge_with_the_origin_the_browser_reported(bridge: Any) -> None:
    port, signed = bridge
    nonce = base64.b64encode(bytes(32)).decode()
    stdin = frames(
        {"id": 1, "type": "status", "origin": PORTAL},
        {"id": 2, "type": "certificates", "origin": PORTAL},
        {"id": 3, "type": "sign", "origin": PORTAL, "certificate": "0A", "nonce": nonce},
        {"id": 4, "type": "certificates", "origin": "https://evil.example"},
        {"id": 5, "type": "keys", "origin": PORTAL},
        {"id": 6, "type": "status"},
    )
    out = io.BytesIO()
    assert serve(EXTENSION_ORIGINS[0], stdin, out, http_forwarder(port)) == 0
    got = {r["id"]: r for r in replies(out)}
    assert got[1]["status"] == 200 and got[1]["body"]["version"] == "9.9"
    assert got[2]["body"]["certificates"] == [CERT.to_json()]
    assert got[3]["status"] == 200 and got[3]["body"]["origin"] == PORTAL
    assert signed[0].origin == PORTAL and signed[0].serial == "0A"
    assert got[4]["status"] == 403 and got[4]["body"]["error"] == "forbidden_origin"
    assert got[5]["status"] == 400 and got[6]["status"] == 400
    assert len(signed) == 1


def test_no_assistant_running_is_said_plainly() -> None:
    reply = http_forwarder(free_port())({"type": "status", "origin": PORTAL})
    assert reply["status"] == 503 and reply["body"]["error"] == "unreachable"


def test_the_certassist_command_is_the_host(bridge: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """As a browser starts it: ``certassist chrome-extension://ID/`` with framed JSON on stdin."""
    port, _signed = bridge
    monkeypatch.setenv("CERTASSIST_BRIDGE_PORT", str(port))
    stdin = frames({"id": 9, "type": "status", "origin": PORTAL}).getvalue()
    result = subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", EXTENSION_ORIGINS[0], "--parent-window=0"],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    (reply,) = replies(io.BytesIO(result.stdout))
    assert reply["id"] == 9 and reply["status"] == 200 and reply["body"]["protocol"] == 1


def test_extension_id_manifests_and_the_msi_agree() -> None:
    extension = json.loads((REPO / "resources" / "browser-extension" / "manifest.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256(base64.b64decode(extension["key"])).hexdigest()[:32]
    assert "".join(chr(ord("a") + int(c, 16)) for c in digest) == EXTENSION_IDS[0]
    assert extension["manifest_version"] == 3 and extension["permissions"] == ["nativeMessaging"]
    background = (REPO / "resources" / "browser-extension" / "background.js").read_text(encoding="utf-8")
    assert f'const HOST = "{HOST_NAME}";' in background
    installed = json.loads((REPO / "installer" / f"{HOST_NAME}.json").read_text(encoding="utf-8"))
    assert installed == host_manifest("certassist.exe")
    wix = ET.parse(REPO / "installer" / "certassist.wxs")
    ns = "{http://schemas.microsoft.com/wix/2006/wi}"
    values = {v.get("Key"): v.get("Value") for v in wix.iter(f"{ns}RegistryValue")}
    for browser in (r"Software\Google\Chrome", r"Software\Microsoft\Edge"):
        assert values[rf"{browser}\NativeMessagingHosts\{HOST_NAME}"] == f"[INSTALLDIR]{HOST_NAME}.json"
