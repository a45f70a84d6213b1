"""证书登录 signs a labelled challenge (issue 13.2): purpose, the service's configured origin and a 32-byte nonce,
never bytes the service chose; the service rebuilds it from its own public URL, never from the request."""

from __future__ import annotations

import base64
from typing import Any, Dict

import pytest

from gm.challenge import NONCE_SIZE, ChallengePurpose
from server.errors import ServiceError
from tests.server.conftest import (
    PUBLIC_URL,
    Server,
    ServerFactory,
    b64,
    issue,
    new_user,
    signed_challenge,
    unb64,
)

LOGIN = "/api/v1/login/certificate"


def _holder(server: Server) -> Dict[str, Any]:
    key, body = issue(server, new_user(server))
    return {"key": key, "cert": unb64(body["sign_certificate"])}


def _challenge(server: Server, purpose: str = "") -> Dict[str, Any]:
    body = {"purpose": purpose} if purpose else None
    return dict(server.api("POST", "/api/v1/login/challenge", json=body).json())


def test_the_labelled_challenge_logs_in_once(server: Server) -> None:
    holder = _holder(server)
    challenge = _challenge(server)
    assert challenge["purpose"] == "tray-login" and len(unb64(challenge["nonce"])) == NONCE_SIZE
    payload = {
        "nonce_id": challenge["nonce_id"],
        "certificate": b64(holder["cert"]),
        "signature": signed_challenge(holder["key"], challenge["nonce"]),
        "origin": PUBLIC_URL,
    }
    response = server.api("POST", LOGIN, json=payload)
    assert response.status_code == 200, response.text
    replay = server.api("POST", LOGIN, json=payload)
    assert replay.status_code == 401 and replay.json()["error"] == "nonce_invalid"


def test_an_old_client_that_signs_the_raw_nonce_is_told_to_update(server: Server) -> None:
    holder = _holder(server)
    challenge = _challenge(server)
    raw = holder["key"].sign(unb64(challenge["nonce"]))  # what clients before issue 13.2 signed
    payload = {"nonce_id": challenge["nonce_id"], "certificate": b64(holder["cert"]), "signature": b64(raw)}
    response = server.api("POST", LOGIN, json=payload)
    assert response.status_code == 400 and response.json()["error"] == "client_outdated"
    assert "更新证书助手" in response.json()["message"]


def test_a_signature_for_another_origin_or_purpose_is_refused(server: Server) -> None:
    holder = _holder(server)
    for origin, purpose in (
        ("https://evil.example", ChallengePurpose.TRAY_LOGIN),
        ("http://127.0.0.1:8000", ChallengePurpose.TRAY_LOGIN),  # another port of this host
        (PUBLIC_URL, ChallengePurpose.WEB_LOGIN),
    ):
        challenge = _challenge(server)
        signature = signed_challenge(holder["key"], challenge["nonce"], origin, purpose)
        payload = {"nonce_id": challenge["nonce_id"], "certificate": b64(holder["cert"]), "signature": signature}
        response = server.api("POST", LOGIN, json=payload)
        assert response.status_code == 401 and response.json()["error"] == "signature_invalid", (origin, purpose)


def test_a_client_configured_for_another_origin_is_told_so(server: Server) -> None:
    holder = _holder(server)
    challenge = _challenge(server)
    origin = "https://ca.example.cn"
    payload = {
        "nonce_id": challenge["nonce_id"],
        "certificate": b64(holder["cert"]),
        "signature": signed_challenge(holder["key"], challenge["nonce"], origin),
        "origin": origin,
    }
    response = server.api("POST", LOGIN, json=payload)
    assert response.status_code == 400 and response.json()["error"] == "origin_mismatch"
    assert "https://ca.example.cn" in response.json()["message"] and PUBLIC_URL in response.json()["message"]


def test_behind_a_proxy_the_configured_public_url_is_the_origin(make_server: ServerFactory) -> None:
    server = make_server(public_url="https://ca.example.cn/")  # TLS ends at the proxy; requests arrive as http
    holder = _holder(server)
    challenge = _challenge(server)
    payload = {
        "nonce_id": challenge["nonce_id"],
        "certificate": b64(holder["cert"]),
        "signature": signed_challenge(holder["key"], challenge["nonce"], "https://ca.example.cn"),
    }
    assert server.api("POST", LOGIN, json=payload).status_code == 200


def test_a_public_url_no_client_may_sign_for_turns_certificate_login_off(make_server: ServerFactory) -> None:
    server = make_server(public_url="http://ca.example.cn")  # plain http off loopback
    holder = _holder(server)
    challenge = _challenge(server)
    payload = {
        "nonce_id": challenge["nonce_id"],
        "certificate": b64(holder["cert"]),
        "signature": signed_challenge(holder["key"], challenge["nonce"], "https://ca.example.cn"),
    }
    response = server.api("POST", LOGIN, json=payload)
    assert response.status_code == 503 and response.json()["error"] == "public_url_invalid"
    assert "--public-url" in response.json()["message"]


def test_nonces_are_bound_to_their_purpose(server: Server) -> None:
    """The browser bridge's web login and the tray's login share one verification; a nonce of one purpose
    is useless for the other (and burnt by the attempt)."""
    holder = _holder(server)
    portal = "https://portal.example.cn"
    web = _challenge(server, "web-login")
    assert web["purpose"] == "web-login"
    tray_signature = signed_challenge(holder["key"], web["nonce"])
    payload = {"nonce_id": web["nonce_id"], "certificate": b64(holder["cert"]), "signature": tray_signature}
    misused = server.api("POST", LOGIN, json=payload)
    assert misused.status_code == 401 and misused.json()["error"] == "nonce_invalid"

    logins = server.service.logins
    tray = _challenge(server)
    with pytest.raises(ServiceError) as refused:
        logins.verify_challenge_signature(
            ChallengePurpose.WEB_LOGIN,
            tray["nonce_id"],
            holder["cert"],
            unb64(signed_challenge(holder["key"], tray["nonce"], portal, ChallengePurpose.WEB_LOGIN)),
            origin=portal,
        )
    assert refused.value.code == "nonce_invalid"

    web = _challenge(server, "web-login")
    verified = logins.verify_challenge_signature(
        ChallengePurpose.WEB_LOGIN,
        web["nonce_id"],
        holder["cert"],
        unb64(signed_challenge(holder["key"], web["nonce"], portal, ChallengePurpose.WEB_LOGIN)),
        origin=portal + "/login?next=/",  # normalised to the page's origin
    )
    assert verified.serial == verified.certificate.serial and verified.account_id > 0
    with pytest.raises(ServiceError) as burnt:  # and the nonce is spent
        logins.verify_challenge_signature(
            ChallengePurpose.WEB_LOGIN, web["nonce_id"], holder["cert"], b"", origin=portal
        )
    assert burnt.value.code == "nonce_invalid"


def test_the_nonce_is_always_32_random_bytes(server: Server) -> None:
    nonces = {unb64(_challenge(server)["nonce"]) for _ in range(5)}
    assert len(nonces) == 5 and {len(n) for n in nonces} == {NONCE_SIZE}
    bad = server.api("POST", "/api/v1/login/challenge", json={"purpose": "sign-contract"})
    assert bad.status_code == 422
    assert base64.b64encode(next(iter(nonces))).decode()  # base64 text, as the client decodes it
