"""The service's surface (issue 13.5, 13.9, 13.10): size limits of bodies and fields, security headers, /docs
without a CDN, forwarding headers only from trusted proxies, the empty-SM2-ID hint of a refused CSR."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gm.sm2 import SM2PrivateKey
from gm.x509 import build_csr
from server import models
from server.app import build_service, create_app
from server.config import ServerConfig
from tests.server.conftest import Server, account_login, b64, new_user


def test_a_declared_large_body_is_refused_before_it_is_read(server: Server) -> None:
    streamed = []

    def body() -> Iterator[bytes]:  # the client offers 256 MB; the service answers before taking any of it
        for _ in range(256):
            streamed.append(1)
            yield b"A" * (1024 * 1024)

    headers = {"content-type": "application/json", "content-length": str(256 * 1024 * 1024)}
    response = server.client.post("/api/v1/unlock/request", content=body(), headers=headers)
    assert response.status_code == 413 and response.json()["error"] == "request_too_large"
    assert "64KB" in response.json()["message"] and response.headers["connection"] == "close"
    assert len(streamed) <= 1


def test_a_body_without_a_length_is_cut_off_at_the_limit(server: Server) -> None:
    """(The test client buffers what it sends: test_transport.py streams to a real server.)"""

    def body() -> Iterator[bytes]:
        yield b'{"certificate": "'
        for _ in range(16):
            yield b"A" * (16 * 1024)

    response = server.client.post(
        "/api/v1/unlock/request", content=body(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["error"] == "request_too_large"


def test_every_binary_field_has_a_maximum_length(server: Server) -> None:
    spec = server.api("GET", "/openapi.json").json()
    binary = {
        (name, field): schema.get("maxLength")
        for name, model in spec["components"]["schemas"].items()
        if name.endswith("In")
        for field, schema in model["properties"].items()
        if schema.get("format") == "byte"
    }
    assert binary and all(limit for limit in binary.values()), binary
    long_certificate = {"certificate": "A" * (16 * 1024 + 4)}
    response = server.api("POST", "/api/v1/unlock/request", json=long_certificate)
    assert response.status_code == 422 and "certificate" in response.json()["message"]
    response = server.api(
        "POST", "/api/v1/login/certificate", json={"nonce_id": "x", "certificate": "AAAA", "signature": "A" * 260}
    )
    assert response.status_code == 422 and "signature" in response.json()["message"]


def test_security_headers(server: Server) -> None:
    api = server.api("POST", "/api/v1/captcha")
    assert api.status_code == 200
    for answer in (api, server.api("GET", "/health"), server.api("GET", "/crl/issuing.crl")):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert "strict-transport-security" not in answer.headers  # plain http
    assert api.headers["cache-control"] == "no-store"
    assert server.api("GET", "/api/v1/ca/chain").headers["cache-control"] == "no-store"


def test_docs_load_nothing_from_elsewhere(server: Server) -> None:
    page = server.api("GET", "/docs")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(source.startswith("/docs/") for source in sources), sources
    for source in sources:
        asset = server.api("GET", source)
        assert asset.status_code == 200 and len(asset.content) > 50, source
    assert b"SwaggerUIBundle" in server.api("GET", "/docs/assets/swagger-ui-bundle.js").content
    assert server.api("GET", "/redoc").status_code == 404
    assert server.api("GET", "/docs/assets/../../etc/passwd").status_code == 404


def test_hsts_behind_a_trusted_proxy_that_speaks_https(tmp_path: Path) -> None:
    config = ServerConfig(data_dir=tmp_path / "data", trusted_proxies=["127.0.0.1/32"])
    service = build_service(config)
    client = TestClient(create_app(config, service), client=("127.0.0.1", 5000))
    try:
        answer = client.get("/health", headers={"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9"})
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        untrusted = TestClient(client.app, client=("198.51.100.7", 5000))
        answer = untrusted.get("/health", headers={"x-forwarded-proto": "https"})
        assert "strict-transport-security" not in answer.headers
    finally:
        service.close()


def forwarded_client(tmp_path: Path, **options: Any) -> Any:
    """The client address the service records (audit log) for a registration sent with forwarding headers."""
    config = ServerConfig(data_dir=tmp_path / "data", **options)
    service = build_service(config)

    def register(peer: str, headers: dict[str, str], username: str) -> str:
        client = TestClient(create_app(config, service), client=(peer, 40000))
        body = {
            "username": username,
            "applicant_name": "张三",
            "account_type": "natural",
            "id_number": "11010519491231002X",
            "email": f"{username}@example.com",
        }
        assert client.post("/api/v1/accounts", json=body, headers=headers).status_code == 201
        with service.db.session() as session:
            return str(
                session.scalar(
                    select(models.AuditEvent.client)
                    .where(models.AuditEvent.event == "account_registered")
                    .order_by(models.AuditEvent.id.desc())
                )
            )

    return service, register


def test_forwarding_headers_only_from_trusted_proxies(tmp_path: Path) -> None:
    service, register = forwarded_client(tmp_path, trusted_proxies=["10.0.0.0/8"])
    try:
        spoof = {"x-forwarded-for": "192.0.2.1"}
        assert register("198.51.100.7", spoof, "direct1") == "198.51.100.7"  # not a proxy: header ignored
        assert register("127.0.0.1", spoof, "direct2") == "127.0.0.1"  # loopback is no proxy either
        # Through the proxy: the address the proxy appended, not what the client wrote before it.
        chain = {"x-forwarded-for": "192.0.2.1, 203.0.113.5, 10.0.0.3"}
        assert register("10.0.0.2", chain, "proxied1") == "203.0.113.5"
        assert register("10.0.0.2", {"x-forwarded-for": "junk, 203.0.113.6"}, "proxied2") == "203.0.113.6"
        assert register("10.0.0.2", {}, "proxied3") == "10.0.0.2"
        assert register("10.0.0.2", {"forwarded": "for=192.0.2.44"}, "proxied4") == "10.0.0.2"  # not its header
    finally:
        service.close()


def test_the_forwarded_header_when_the_proxies_write_it(tmp_path: Path) -> None:
    service, register = forwarded_client(tmp_path, trusted_proxies=["10.0.0.2"], forwarded_header="forwarded")
    try:
        header = {"forwarded": 'for=192.0.2.1, for="[2001:db8::7]:4711";proto=https'}
        assert register("10.0.0.2", header, "fwd1") == "2001:db8::7"
        assert register("10.0.0.2", {"x-forwarded-for": "192.0.2.9"}, "fwd2") == "10.0.0.2"
    finally:
        service.close()


def test_a_csr_signed_with_an_empty_sm2_id_says_so(server: Server) -> None:
    token = account_login(server, new_user(server))
    key = SM2PrivateKey.generate()
    csr = build_csr({"common_name": "openssl 3.0 without distid"}, key, signer_id=b"")
    response = server.api("POST", "/api/v1/certificates/issue", token, json={"csr": b64(csr.to_der())})
    assert response.status_code == 400 and response.json()["error"] == "csr_invalid"
    message = response.json()["message"]
    assert "空的SM2签名者ID" in message and "-sigopt distid:1234567812345678" in message
    other = build_csr({"common_name": "another id"}, key, signer_id=b"ALICE")
    response = server.api("POST", "/api/v1/certificates/issue", token, json={"csr": b64(other.to_der())})
    assert response.status_code == 400 and "空的SM2签名者ID" not in response.json()["message"]


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "not-an-address"])
def test_a_bad_trusted_proxy_is_refused_at_start(bad: str) -> None:
    from click.testing import CliRunner

    from server.cli import main

    result = CliRunner().invoke(main, ["--trusted-proxy", bad, "ca", "chain"])
    assert result.exit_code == 2 and bad in result.output


def test_a_data_folder_an_earlier_version_left_open_is_made_private(tmp_path: Path) -> None:
    """Keys and personal data live in the data folder: 0700, also when it already existed as 0755."""
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)  # as an earlier version (or an administrator's mkdir) left it
    service = build_service(ServerConfig(data_dir=data))
    try:
        assert data.stat().st_mode & 0o777 == 0o700
    finally:
        service.close()
