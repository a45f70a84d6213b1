"""The tray's side of 证书登录 (issue 13.2): it signs only the labelled challenge it builds from the service URL
it is configured with and a 32-byte nonce, and talks to no service over plain http off this computer.

The service here is a fake one answering through httpx's MockTransport: a hostile service is what is tested.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Dict, List

import httpx
import pytest

from app import entries, flows
from app.api_client import InsecureServiceUrl, IssuingClient
from app.settings import InvalidServiceUrl, check_service_url
from drivers.soft import SoftBackend
from gm.challenge import ChallengePurpose, InvalidNonce, LoginChallenge
from gm.errors import InvalidSignature
from tests.conftest import FAST_KDF
from tests.pki import make_pki

PIN = "480362"
NONCE = bytes(range(32))
SENTENCE = "本人同意将第12345678号商标无偿转让给他人".encode()  # what a fake service would like signed


class FakeService:
    def __init__(self, nonce: bytes, extra: Dict[str, Any]) -> None:
        self.nonce, self.extra = nonce, extra
        self.requests: List[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/api/v1/login/challenge":
            answer = {"nonce_id": "n1", "nonce": base64.b64encode(self.nonce).decode(), "expires_in": 120}
            return httpx.Response(200, json={**answer, **self.extra})
        return httpx.Response(401, json={"error": "signature_invalid", "message": "fake"})

    def posted(self, path: str) -> List[Dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path == path]


def _client(url: str, service: FakeService) -> IssuingClient:
    return IssuingClient(url, http=httpx.Client(base_url=url, transport=httpx.MockTransport(service)))


def _entry(tmp_path: Any) -> entries.CertificateEntry:
    backend = SoftBackend(kdf=FAST_KDF)
    device, _admin = backend.create_device("软证书 test", PIN, PIN)
    with device.open() as session:
        session.login(PIN)
        session.create_container("c")
        session.generate_key("c")
    return entries.CertificateEntry(device, "c", make_pki().leaf, None)  # the certificate is only sent along


def test_the_client_signs_the_labelled_challenge_for_its_own_url(tmp_path: Any) -> None:
    # the service's answer names another origin: the client never uses what the service says it is
    service = FakeService(NONCE, {"origin": "https://evil.example", "purpose": "web-login"})
    entry = _entry(tmp_path)
    with pytest.raises(Exception, match="fake"):
        flows.certificate_login(_client("https://CA.example.cn:443/", service), entry, PIN)
    [sent] = service.posted("/api/v1/login/certificate")
    assert sent["origin"] == "https://ca.example.cn"
    signature = base64.b64decode(sent["signature"])
    with entry.device.open() as session:
        public = session.public_key("c")
    public.verify(signature, LoginChallenge(ChallengePurpose.TRAY_LOGIN, "https://ca.example.cn", NONCE).to_be_signed())
    with pytest.raises(InvalidSignature):
        public.verify(signature, NONCE)  # never the service's bytes themselves
    [asked] = service.posted("/api/v1/login/challenge")
    assert asked == {"purpose": "tray-login"}


@pytest.mark.parametrize("nonce", [SENTENCE, NONCE[:31], NONCE + b"\x00", b""])
def test_a_nonce_that_is_not_32_bytes_is_never_signed(tmp_path: Any, nonce: bytes) -> None:
    service = FakeService(nonce, {})
    with pytest.raises(InvalidNonce):
        flows.certificate_login(_client("https://ca.example.cn", service), _entry(tmp_path), PIN)
    assert service.posted("/api/v1/login/certificate") == []


@pytest.mark.parametrize("url", ["http://ca.example.cn", "http://10.1.2.3:8470", "http://127.0.0.1.evil.example"])
def test_plain_http_off_loopback_is_refused_before_anything_is_sent(tmp_path: Any, url: str) -> None:
    service = FakeService(NONCE, {})
    client = _client(url, service)
    with pytest.raises(InsecureServiceUrl) as refused:
        client.captcha()
    assert "https" in str(refused.value)
    with pytest.raises(InsecureServiceUrl):
        flows.certificate_login(client, _entry(tmp_path), PIN)
    assert service.requests == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:8470", "http://localhost:8470", "https://ca.example.cn"])
def test_https_and_the_local_demo_are_used(url: str) -> None:
    service = FakeService(NONCE, {})
    with pytest.raises(Exception):  # noqa: B017 - the fake service has no captcha; the request was sent
        _client(url, service).captcha()
    assert len(service.requests) == 1


def test_the_settings_refuse_plain_http_off_loopback() -> None:
    assert check_service_url(" https://ca.example.cn/ ") == "https://ca.example.cn"
    assert check_service_url("http://127.0.0.1:8470") == "http://127.0.0.1:8470"
    for bad in ("http://ca.example.cn", "ftp://ca.example.cn", "ca.example.cn", "https://user:pw@ca.example.cn"):
        with pytest.raises(InvalidServiceUrl) as refused:
            check_service_url(bad)
        assert "https://" in str(refused.value)
