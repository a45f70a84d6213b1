"""Issue 13.10, the service's side: thousands of mutated certificates, CSRs, signatures, envelopes and request
bodies through the endpoints anyone can reach (and issuance): every answer is a refusal in the service's own
format or a success, never a 5xx nor an exception.

The mutations are those of the gm parser fuzz test (``tests/mutator.py``), seeded with what the service itself
issued (a certificate pair, its CSR, a login signature) and the gm corpus (``tests/data/fuzz``). Each request
comes from its own client address (through a trusted proxy) and the counters of the limits keyed by a
certificate or a user are cleared every few requests, so that the rate limits (which run, and may answer 429,
a refusal too) leave the inputs to the parsers.

Deterministic: ``CERTASSIST_FUZZ_SEED`` picks the inputs, ``CERTASSIST_FUZZ_CASES`` how many per kind.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import random
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from gm.challenge import ChallengePurpose, LoginChallenge
from gm.sm2 import SM2PrivateKey
from gm.x509 import build_csr
from server import captcha
from server.app import build_service, create_app
from server.config import ServerConfig
from server.issuance import codes as issuance_codes
from tests.mutator import Mutator
from tests.server.conftest import CAPTCHA, PASSING_ID

pytestmark = pytest.mark.integration

CASES = int(os.environ.get("CERTASSIST_FUZZ_CASES", "500"))  # per kind of input
SEED = os.environ.get("CERTASSIST_FUZZ_SEED", "0")
ISSUANCE_CODE = "ACDE-FGHJ-KLMN-PQRT"  # every issuance code of this in-process service
CORPUS = Path(__file__).resolve().parents[1] / "data" / "fuzz"
_addresses = (f"10.{a}.{b}.{c}" for a, b, c in itertools.product(range(1, 255), range(256), range(1, 255)))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Fuzzed:
    """The service in-process behind a trusted proxy; every request from a new client address."""

    def __init__(self, tmp_path: Path) -> None:
        config = ServerConfig(data_dir=tmp_path / "data", trusted_proxies=["127.0.0.1/32"])
        self.service = build_service(config)
        self.client = TestClient(create_app(config, self.service), client=("127.0.0.1", 40000))
        self.statuses: Dict[int, int] = {}

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        if sum(self.statuses.values()) % 10 == 0:
            with self.service.db.engine.begin() as connection:
                connection.execute(text("DELETE FROM rate_limits"))
        headers = {"x-forwarded-for": next(_addresses), **kwargs.pop("headers", {})}
        response = self.client.request(method, path, headers=headers, **kwargs)
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (path, response.status_code, response.text[:300])
        if response.status_code >= 400:
            body = response.json()
            assert set(body) == {"error", "message"} and body["message"], body  # the service's own refusal
        return response


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    patcher = pytest.MonkeyPatch()
    patcher.setattr(captcha, "new_answer", lambda: CAPTCHA)
    patcher.setattr(issuance_codes, "new_code_text", lambda: ISSUANCE_CODE)  # the approval mail's 签发码
    target = Fuzzed(tmp_path_factory.mktemp("fuzz"))
    accounts = target.service.accounts
    accounts.register("fuzzholder", "张三", "natural", PASSING_ID, "holder@example.com")
    accounts.approve("fuzzholder")
    token = account_token(target, "fuzzholder", "张三")
    opened = {"secret": ISSUANCE_CODE}
    target.call("POST", "/api/v1/account/issuance-authorization", json=opened, headers=bearer(token))
    key = SM2PrivateKey.generate()
    csr = build_csr({"common_name": "fuzz"}, key).to_der()
    pair = target.call("POST", "/api/v1/certificates/issue", json={"csr": b64(csr)}, headers=bearer(token)).json()
    challenge = target.call("POST", "/api/v1/login/challenge").json()
    origin = target.service.logins.public_origin()
    signed = LoginChallenge.for_service(ChallengePurpose.TRAY_LOGIN, origin, challenge["nonce"]).to_be_signed()
    signature = key.sign(signed)
    corpus = {p.stem: p.read_bytes() for p in sorted(CORPUS.glob("*.der"))}
    yield {
        "target": target,
        "token": token,
        "certificate": base64.b64decode(pair["sign_certificate"]),
        "encryption_certificate": base64.b64decode(pair["encryption_certificate"]),
        "enveloped_key": base64.b64decode(pair["enveloped_key"]),
        "csr": csr,
        "signature": signature,
        "corpus": corpus,
    }
    print("statuses:", dict(sorted(target.statuses.items())))
    target.service.close()
    patcher.undo()


def account_token(target: Fuzzed, username: str, name: str) -> str:
    captcha_id = target.call("POST", "/api/v1/captcha").json()["captcha_id"]
    body = {"username": username, "applicant_name": name, "captcha_id": captcha_id, "captcha_answer": CAPTCHA}
    return str(target.call("POST", "/api/v1/login/account", json=body).json()["token"])


def bearer(token: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def mutations(seeds: List[bytes], count: int, salt: str) -> Iterator[bytes]:
    rng = random.Random(f"{SEED}:{salt}")
    mutators = [Mutator(seed, donors=[other for other in seeds if other is not seed]) for seed in seeds]
    for _ in range(count):
        yield rng.choice(mutators).mutate(rng)


def test_mutated_certificates_on_certificate_login_and_unlock(fuzzed: Dict[str, Any]) -> None:
    target: Fuzzed = fuzzed["target"]
    corpus = fuzzed["corpus"]
    seeds = [
        fuzzed["certificate"],
        fuzzed["encryption_certificate"],
        corpus["cert-gm-leaf"],
        corpus["cert-openssl-leaf"],
    ]
    signature = b64(fuzzed["signature"])
    for n, der in enumerate(mutations(seeds, CASES, "certificates")):
        certificate = b64(der)
        endpoint = n % 3
        if endpoint == 0:
            nonce_id = target.call("POST", "/api/v1/login/challenge").json()["nonce_id"]
            body = {"nonce_id": nonce_id, "certificate": certificate, "signature": signature}
            target.call("POST", "/api/v1/login/certificate", json=body)
        elif endpoint == 1:
            target.call("POST", "/api/v1/unlock/request", json={"certificate": certificate})
        else:
            body = {"unlock_id": "x" * 24, "certificate": certificate, "code": "12345678"}
            target.call("POST", "/api/v1/unlock/complete", json=body)


def test_mutated_signatures_and_envelopes_on_certificate_login(fuzzed: Dict[str, Any]) -> None:
    target: Fuzzed = fuzzed["target"]
    corpus = fuzzed["corpus"]
    seeds = [fuzzed["signature"], corpus["sig"], fuzzed["enveloped_key"], corpus["envelope"]]
    certificate = b64(fuzzed["certificate"])
    for blob in mutations(seeds, CASES, "signatures"):
        nonce_id = target.call("POST", "/api/v1/login/challenge").json()["nonce_id"]
        body = {"nonce_id": nonce_id, "certificate": certificate, "signature": b64(blob[:190])}
        target.call("POST", "/api/v1/login/certificate", json=body)
        # The same bytes where a certificate belongs (an envelope or a signature is no certificate).
        target.call("POST", "/api/v1/unlock/request", json={"certificate": b64(blob)})


def test_mutated_csrs_on_issuance(fuzzed: Dict[str, Any]) -> None:
    target: Fuzzed = fuzzed["target"]
    corpus = fuzzed["corpus"]
    seeds = [fuzzed["csr"], corpus["csr-gm"], corpus["csr-openssl"]]
    accounts = target.service.accounts
    accounts.register("fuzzissuer", "李四", "natural", PASSING_ID, "issuer@example.com")
    accounts.approve("fuzzissuer")
    token = account_token(target, "fuzzissuer", "李四")
    for der in mutations(seeds, CASES, "csrs"):
        target.call("POST", "/api/v1/certificates/issue", json={"csr": b64(der)}, headers=bearer(token))


def _mutate_json(rng: random.Random, value: Any) -> Any:
    """A field of a valid body replaced by something of another shape, size or alphabet."""
    odd: List[Callable[[], Any]] = [
        lambda: None,
        lambda: rng.randrange(-(2**70), 2**70),
        rng.random,
        lambda: [value, value],
        lambda: {"nested": value},
        lambda: "",
        lambda: "\u202e\u0000\ud7ff" * rng.randrange(1, 40),
        lambda: "A" * rng.choice([63, 64, 65, 255, 256, 257, 16385, 60000]),
        lambda: "%%%%====",
        lambda: "证书" * rng.randrange(1, 150),
        lambda: True,
    ]
    return rng.choice(odd)()


def test_mutated_request_bodies_on_every_public_endpoint(fuzzed: Dict[str, Any]) -> None:
    target: Fuzzed = fuzzed["target"]
    valid: Dict[str, Dict[str, Any]] = {
        "/api/v1/accounts": {
            "username": "newuser",
            "applicant_name": "王五",
            "account_type": "natural",
            "id_number": PASSING_ID,
            "email": "new@example.com",
        },
        "/api/v1/login/account": {
            "username": "fuzzholder",
            "applicant_name": "张三",
            "captcha_id": "x" * 24,
            "captcha_answer": CAPTCHA,
        },
        "/api/v1/login/certificate": {
            "nonce_id": "x" * 24,
            "certificate": b64(fuzzed["certificate"]),
            "signature": b64(fuzzed["signature"]),
        },
        "/api/v1/unlock/request": {"certificate": b64(fuzzed["certificate"])},
        "/api/v1/unlock/complete": {
            "unlock_id": "x" * 24,
            "certificate": b64(fuzzed["certificate"]),
            "code": "12345678",
        },
        "/api/v1/captcha": {},
        "/api/v1/login/challenge": {},
    }
    rng = random.Random(f"{SEED}:bodies")
    paths = sorted(valid)
    for n in range(CASES):
        path = rng.choice(paths)
        body = dict(valid[path])
        if body and rng.random() < 0.7:
            field = rng.choice(sorted(body))
            body[field] = _mutate_json(rng, body[field])
        elif rng.random() < 0.5:
            body[rng.choice(["extra", "__proto__", "username ", ""])] = "x"
        raw = json.dumps(body, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
        if n % 4 == 3:  # the bytes of the body damaged: truncated, flipped, another encoding
            cut = rng.randrange(len(raw) + 1)
            raw = raw[:cut] + bytes([rng.randrange(256)]) + raw[cut + 1 :]
        content_type = rng.choice(
            ["application/json", "application/json", "text/plain", "application/x-www-form-urlencoded"]
        )
        target.call("POST", path, content=raw, headers={"content-type": content_type})
    for path in (
        "/crl/issuing-g0.crl",
        "/crl/issuing-g99999999999999999999.crl",
        "/ca/issuing-g-1.cer",
        "/crl/root.crl",
    ):
        target.call("GET", path)
    assert sum(target.statuses.values()) > 4 * CASES
