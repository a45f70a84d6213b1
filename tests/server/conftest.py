"""Server test fixtures: the service on SQLite and on PostgreSQL, mail through a real SMTP server."""

from __future__ import annotations

import base64
import re
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
from asn1crypto import pem
from fastapi.testclient import TestClient

from gm.challenge import ChallengePurpose, LoginChallenge
from gm.sm2 import SM2PrivateKey
from gm.x509 import Certificate, build_csr
from server import captcha
from server.app import build_service, create_app
from server.config import MailConfig, ServerConfig
from server.service import IssuingService
from tests.peers import SmtpServer
from tests.server.services import PostgresCluster

CAPTCHA = "ACDE"
PASSING_ID = "11010519491231002X"  # the GB 11643 example number
USCC = "91350100M000100Y43"
PUBLIC_URL = "http://127.0.0.1:8470"  # the services' configured public URL (make_server)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    # Not under pytest's 0700 root-owned temp dir: the postgres user must be able to reach it.
    directory = Path(tempfile.mkdtemp(prefix="certassist-pg-"))
    cluster = PostgresCluster(directory).start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.new_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture()
def known_captcha(monkeypatch: pytest.MonkeyPatch) -> str:
    """The image is real; only the random answer is fixed so that a test can type it."""
    monkeypatch.setattr(captcha, "new_answer", lambda: CAPTCHA)
    return CAPTCHA


@dataclass
class Server:
    service: IssuingService
    client: TestClient
    smtp: SmtpServer

    def api(self, method: str, path: str, token: Optional[str] = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.request(method, path, headers=headers, **kwargs)


ServerFactory = Callable[..., Server]


@pytest.fixture()
def make_server(tmp_path: Path, database_url: str, smtp: SmtpServer, known_captcha: str) -> Iterator[ServerFactory]:
    made = []

    def factory(**overrides: Any) -> Server:
        mail = MailConfig(mode="smtp", smtp_host="127.0.0.1", smtp_port=smtp.port)
        config = ServerConfig(
            data_dir=tmp_path / f"data{len(made)}",
            database_url=database_url,
            mail=mail,
            **{"public_url": PUBLIC_URL, **overrides},
        )
        service = build_service(config)
        client = TestClient(create_app(config, service))
        made.append(service)
        return Server(service, client, smtp)

    yield factory
    for service in made:
        service.close()


@pytest.fixture()
def server(make_server: ServerFactory) -> Server:
    return make_server()


def new_user(server: Server, username: str = "", kind: str = "natural", approve: bool = True) -> Dict[str, str]:
    username = username or f"u{uuid.uuid4().hex[:8]}"
    user = {
        "username": username,
        "applicant_name": "张三" if kind == "natural" else "某某商标代理有限公司",
        "email": f"{username}@example.com",
    }
    server.service.accounts.register(
        username, user["applicant_name"], kind, PASSING_ID if kind == "natural" else USCC, user["email"]
    )
    if approve:
        server.service.accounts.approve(username)
    return user


def try_account_login(server: Server, user: Dict[str, str], applicant_name: Optional[str] = None) -> Any:
    """A fresh captcha answered right, then 账号登录 with ``applicant_name`` (the user's own by default)."""
    captcha_id = server.api("POST", "/api/v1/captcha").json()["captcha_id"]
    return server.api(
        "POST",
        "/api/v1/login/account",
        json={
            "username": user["username"],
            "applicant_name": applicant_name or user["applicant_name"],
            "captcha_id": captcha_id,
            "captcha_answer": CAPTCHA,
        },
    )


def account_login(server: Server, user: Dict[str, str]) -> str:
    response = try_account_login(server, user)
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


ISSUANCE_CODE = re.compile(r"签发码：([A-Z0-9]{4}(?:-[A-Z0-9]{4}){3})")
_spent_codes: set = set()


def mailed_issuance_codes(server: Server, email: str) -> List[str]:
    """Every issuance code mailed to ``email`` so far (approval, reopened issuance, resend), oldest first."""
    return [
        match.group(1)
        for message in server.smtp.inbox.messages
        if message["To"] == email
        for match in [ISSUANCE_CODE.search(server.smtp.inbox.body(message))]
        if match is not None
    ]


def issuance_code(server: Server, user: Dict[str, str], token: str) -> str:
    """An issuance code of the user not given before in this test run: from the mails (waiting for the approval
    mail), else a new one asked for with ``token`` (重新发送签发码)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        mailed = mailed_issuance_codes(server, user["email"])  # one look: the approval mail may arrive meanwhile
        fresh = [code for code in mailed if code not in _spent_codes]
        if fresh:
            _spent_codes.add(fresh[-1])
            return fresh[-1]
        if not mailed:  # the approval mail may still be on its way
            time.sleep(0.02)
            continue
        sent = server.api("POST", "/api/v1/account/issuance-code", token)
        assert sent.status_code == 200, sent.text
        server.smtp.inbox.wait_for(user["email"], "证书签发码")
    raise AssertionError(f"no issuance code for {user['email']}")


def issuing_login(server: Server, user: Dict[str, str]) -> str:
    """账号登录, then the issuance code from the mail: a session that may 证书签发 / 证书换发."""
    token = account_login(server, user)
    opened = server.api(
        "POST", "/api/v1/account/issuance-authorization", token, json={"secret": issuance_code(server, user, token)}
    )
    assert opened.status_code == 204, opened.text
    return token


def csr_for(key: SM2PrivateKey, cn: str = "ignored by the server") -> str:
    return b64(build_csr({"common_name": cn}, key).to_der())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def signed_challenge(
    key: SM2PrivateKey,
    nonce_b64: str,
    origin: str = PUBLIC_URL,
    purpose: ChallengePurpose = ChallengePurpose.TRAY_LOGIN,
) -> str:
    """What a client signs: the labelled challenge for ``origin`` and the service's nonce (base64 signature)."""
    return b64(key.sign(LoginChallenge.for_service(purpose, origin, nonce_b64).to_be_signed()))


def try_certificate_login(server: Server, key: SM2PrivateKey, cert_der: bytes) -> Any:
    """Fetch a nonce, sign the labelled challenge with ``key``, present ``cert_der``: the raw response."""
    challenge = server.api("POST", "/api/v1/login/challenge").json()
    return server.api(
        "POST",
        "/api/v1/login/certificate",
        json={
            "nonce_id": challenge["nonce_id"],
            "certificate": b64(cert_der),
            "signature": signed_challenge(key, challenge["nonce"]),
        },
    )


def certificate_login(server: Server, key: SM2PrivateKey, cert_der: bytes) -> str:
    response = try_certificate_login(server, key, cert_der)
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


ADMIN = "escrowed-admin-secret-0123456789abcdef"


def issue(server: Server, user: Dict[str, str], admin: str = ADMIN) -> Tuple[SM2PrivateKey, Dict[str, Any]]:
    token = issuing_login(server, user)
    key = SM2PrivateKey.generate()
    payload = {"csr": csr_for(key), **({"admin_credential": admin} if admin else {})}
    response = server.api("POST", "/api/v1/certificates/issue", token, json=payload)
    assert response.status_code == 200, response.text
    return key, response.json()


def chain_of(server: Server) -> Tuple[Certificate, List[Certificate]]:
    """The root and the issuing CAs, as the service publishes them."""
    pem_chain = server.api("GET", "/api/v1/ca/chain").content
    *issuing, root = [Certificate.from_der(der) for _type, _headers, der in pem.unarmor(pem_chain, multiple=True)]
    return root, issuing
