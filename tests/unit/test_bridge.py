"""The browser bridge's rules and protocol over real HTTP on loopback (no Qt: the signer here is a plain
function; the real dialog is tested in tests/gui/test_web_sign.py and through a browser in tests/browser)."""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from app.bridge.http import BridgeServer
from app.bridge.protocol import BridgeCore, CertificateInfo, SignRefused, SignRequest, SignResult
from app.bridge.rules import BridgeRules, RateLimiter, check_origin_entry, normalised_origins
from app.settings import ENV_BRIDGE_PORT, Settings, check_bridge_port
from gm.challenge import ChallengePurpose, LoginChallenge
from tests.peers import free_port

PORTAL = "https://ca.example.cn"
NONCE = base64.b64encode(bytes(range(32))).decode()
CERT = CertificateInfo("1A2B", "张三", "CN=Issuing CA", "2030-01-01", "soft", "软证书 zhangsan")


class Bridge:
    def __init__(self, signer: Any = None) -> None:
        self.port = free_port()
        self.signed: List[SignRequest] = []
        self.core = BridgeCore(
            lambda: BridgeRules(self.port, normalised_origins(PORTAL, ["http://127.0.0.1:9000"])),
            lambda: [CERT],
            signer or self.sign,
            "1.2.3",
            sign_timeout=5,
        )
        self.server = BridgeServer(self.core, self.port)

    def sign(self, request: SignRequest, _timeout: float) -> SignResult:
        self.signed.append(request)
        return SignResult(b"cert-der", b"sig:" + request.challenge.to_be_signed())

    def call(
        self, method: str, path: str, origin: Optional[str] = PORTAL, host: Optional[str] = None, body: Any = None
    ) -> Tuple[int, Dict[str, str], Dict[str, Any]]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Host": host or f"127.0.0.1:{self.port}"}
        if origin is not None:
            headers["Origin"] = origin
        data = json.dumps(body).encode() if body is not None else None
        if data is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        connection.close()
        return response.status, dict(response.getheaders()), json.loads(raw) if raw else {}


@pytest.fixture()
def bridge() -> Iterator[Bridge]:
    made = Bridge()
    made.server.start()
    yield made
    made.server.stop()


def test_status_and_list_for_an_allowed_origin_with_cors_for_it_alone(bridge: Bridge) -> None:
    status, headers, body = bridge.call("GET", "/v1/status")
    assert status == 200 and body == {"protocol": 1, "version": "1.2.3", "certificates": True}
    assert headers["Access-Control-Allow-Origin"] == PORTAL and headers["Vary"] == "Origin"
    assert headers["Cache-Control"] == "no-store"
    status, headers, body = bridge.call("GET", "/v1/certificates", origin="http://127.0.0.1:9000")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:9000"
    assert body["certificates"] == [CERT.to_json()]
    assert set(body["certificates"][0]) == {"serial", "subject", "issuer", "not_after", "device_kind", "device"}


@pytest.mark.parametrize(
    "origin",
    [
        None,
        "null",
        "https://evil.example",
        "http://ca.example.cn",
        "https://ca.example.cn.evil.example",
        "http://127.0.0.1:9001",
    ],
)
def test_other_or_missing_origin_is_refused_without_cors(bridge: Bridge, origin: Optional[str]) -> None:
    for method, path in (
        ("GET", "/v1/status"),
        ("GET", "/v1/certificates"),
        ("POST", "/v1/sign"),
        ("OPTIONS", "/v1/sign"),
    ):
        status, headers, body = bridge.call(method, path, origin=origin, body={"certificate": "1A2B", "nonce": NONCE})
        assert status == 403 and body["error"] == "forbidden_origin", (method, path)
        assert "Access-Control-Allow-Origin" not in headers
    assert bridge.signed == []


@pytest.mark.parametrize(
    "host", ["evil.example:{port}", "127.0.0.1", "127.0.0.1:1", "localhost.evil.example:{port}", "[::1]:{port}"]
)
def test_a_rebound_host_name_is_refused(bridge: Bridge, host: str) -> None:
    status, headers, body = bridge.call("GET", "/v1/certificates", host=host.format(port=bridge.port))
    assert status == 403 and body["error"] == "forbidden_host"
    assert "Access-Control-Allow-Origin" not in headers
    assert bridge.call("GET", "/v1/status", host=f"localhost:{bridge.port}")[0] == 200


def test_preflight_names_the_origin_and_methods(bridge: Bridge) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", bridge.port, timeout=10)
    connection.request(
        "OPTIONS",
        "/v1/sign",
        headers={
            "Host": f"127.0.0.1:{bridge.port}",
            "Origin": PORTAL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    response = connection.getresponse()
    response.read()
    assert response.status == 204
    assert response.getheader("Access-Control-Allow-Origin") == PORTAL
    assert response.getheader("Access-Control-Allow-Methods") == "GET, POST"
    assert response.getheader("Access-Control-Allow-Private-Network") == "true"
    connection.close()


def test_sign_builds_the_labelled_challenge_from_the_reported_origin(bridge: Bridge) -> None:
    status, _headers, body = bridge.call("POST", "/v1/sign", body={"certificate": "1a2b", "nonce": NONCE})
    assert status == 200, body
    assert body["purpose"] == "web-login" and body["origin"] == PORTAL
    signed = base64.b64decode(body["signature"])
    challenge = LoginChallenge.parse(signed[len(b"sig:") :])
    assert challenge == LoginChallenge(ChallengePurpose.WEB_LOGIN, PORTAL, bytes(range(32)))
    assert bridge.signed[0].serial == "1A2B"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"certificate": "1A2B", "nonce": base64.b64encode(b"short").decode()}, "bad_nonce"),
        ({"certificate": "1A2B", "nonce": "not base64!"}, "bad_nonce"),
        ({"certificate": "FFFF", "nonce": NONCE}, "unknown_certificate"),
        ({"certificate": "../x", "nonce": NONCE}, "bad_request"),
        (["not", "an", "object"], "bad_request"),
    ],
)
def test_bad_sign_requests_never_reach_the_signer(bridge: Bridge, body: Any, code: str) -> None:
    status, _headers, answer = bridge.call("POST", "/v1/sign", body=body)
    assert status in (400, 404) and answer["error"] == code
    assert bridge.signed == []


def test_unknown_path_and_oversized_body(bridge: Bridge) -> None:
    assert bridge.call("GET", "/v1/keys")[2]["error"] == "not_found"
    status, _headers, body = bridge.call("POST", "/v1/sign", body={"nonce": "A" * 5000})
    assert status == 413 and body["error"] == "too_large"


def test_signs_are_rate_limited_per_origin(bridge: Bridge) -> None:
    answers = [bridge.call("POST", "/v1/sign", body={"certificate": "1A2B", "nonce": NONCE})[0] for _ in range(11)]
    assert answers == [200] * 10 + [429]
    assert (
        bridge.call("POST", "/v1/sign", origin="http://127.0.0.1:9000", body={"certificate": "1A2B", "nonce": NONCE})[0]
        == 200
    )


def test_signs_are_served_one_at_a_time_and_a_crowd_is_refused() -> None:
    active: List[int] = [0]
    most: List[int] = [0]
    release = threading.Event()
    lock = threading.Lock()

    def slow(request: SignRequest, _timeout: float) -> SignResult:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        release.wait(10)
        with lock:
            active[0] -= 1
        return SignResult(b"c", b"s")

    made = Bridge(slow)
    made.server.start()
    try:
        results: List[int] = []
        threads = [
            threading.Thread(
                target=lambda: results.append(
                    made.call("POST", "/v1/sign", body={"certificate": "1A2B", "nonce": NONCE})[0]
                )
            )
            for _ in range(5)
        ]
        for thread in threads:
            thread.start()
            time.sleep(0.1)
        time.sleep(0.3)
        release.set()
        for thread in threads:
            thread.join(10)
        assert most[0] == 1
        assert sorted(results) == [200, 200, 200, 429, 429]  # one signing, two waiting, the rest refused
        assert made.call("GET", "/v1/status")[0] == 200
    finally:
        made.server.stop()


def test_a_refused_signature_is_told_to_the_page() -> None:
    def cancelled(_request: SignRequest, _timeout: float) -> SignResult:
        raise SignRefused("cancelled", "您已在证书助手中取消了本次登录")

    made = Bridge(cancelled)
    made.server.start()
    try:
        status, headers, body = made.call("POST", "/v1/sign", body={"certificate": "1A2B", "nonce": NONCE})
        assert status == 409 and body["error"] == "cancelled"
        assert headers["Access-Control-Allow-Origin"] == PORTAL  # the page may read why
    finally:
        made.server.stop()


def test_a_second_bridge_on_the_same_port_fails_to_start(bridge: Bridge) -> None:
    with pytest.raises(OSError):
        BridgeServer(bridge.core, bridge.port).start()


def test_allowed_origins_and_allowlist_entries() -> None:
    assert normalised_origins("https://CA.example.cn:443/api", ["https://b.example:8443", "ftp://x", ""]) == {
        "https://ca.example.cn",
        "https://b.example:8443",
    }
    assert check_origin_entry(" https://portal.example.cn/ ") == "https://portal.example.cn"
    for bad in ("http://portal.example.cn", "https://portal.example.cn/login", "portal.example.cn"):
        with pytest.raises(ValueError):
            check_origin_entry(bad)


def test_rate_limiter_window() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 10.0, clock=lambda: now[0])
    assert [limiter.allow("a"), limiter.allow("a"), limiter.allow("a"), limiter.allow("b")] == [True, True, False, True]
    now[0] = 10.0
    assert limiter.allow("a")


def test_bridge_port_setting_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().effective_bridge_port() == 8471
    monkeypatch.setenv(ENV_BRIDGE_PORT, "9555")
    assert Settings().effective_bridge_port() == 9555
    monkeypatch.setenv(ENV_BRIDGE_PORT, "http")
    with pytest.raises(ValueError, match="端口"):
        Settings().effective_bridge_port()
    assert check_bridge_port("0") == 0
    with pytest.raises(ValueError):
        check_bridge_port(70000)
