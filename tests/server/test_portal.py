"""The web portal (server.portal): its pages under a CSP, and the web certificate login: a nonce for
``web-login`` only, issued to and redeemed from the portal's own origin, a signature over the labelled
challenge for that origin, single use."""

from __future__ import annotations

import re
from typing import Any, Dict, Optional

from gm.challenge import ChallengePurpose, LoginChallenge
from gm.sm2 import SM2PrivateKey
from tests.server.conftest import Server, ServerFactory, b64, issue, new_user, unb64

PORTAL = "http://127.0.0.1:8470"  # the public URL's origin (tests/server/conftest.py)


def web_challenge(server: Server, origin: Optional[str] = PORTAL) -> Any:
    headers = {"Origin": origin} if origin else {}
    return server.client.post("/api/v1/portal/challenge", headers=headers)


def web_login(
    server: Server,
    key: SM2PrivateKey,
    cert: str,
    origin: str = PORTAL,
    signed_for: Optional[str] = None,
    claimed: Optional[str] = None,
    challenge: Optional[Dict[str, Any]] = None,
) -> Any:
    """Sign ``LoginChallenge(web-login, signed_for, nonce)``; send it from ``origin`` claiming ``claimed``."""
    challenge = challenge or web_challenge(server, origin).json()
    tbs = LoginChallenge(ChallengePurpose.WEB_LOGIN, signed_for or origin, unb64(challenge["nonce"])).to_be_signed()
    body = {
        "nonce_id": challenge["nonce_id"],
        "origin": claimed or signed_for or origin,
        "certificate": cert,
        "signature": b64(key.sign(tbs)),
    }
    return server.client.post("/api/v1/portal/login/certificate", json=body, headers={"Origin": origin})


def test_pages_and_files_under_a_strict_policy(server: Server) -> None:
    page = server.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "connect-src 'self' http://127.0.0.1:8471 http://localhost:8471" in policy
    html = page.text
    assert (
        "网上服务系统" in html and "证书登录" in html and "选择证书登录" in html and 'data-bridge-port="8471"' in html
    )
    assert "<script>" not in html and "style=" not in html  # nothing inline: the policy allows none
    assert all(src.startswith("/portal/static/") for src in re.findall(r'src="([^"]+)"', html))
    assert server.client.get("/account").status_code == 200
    assert "安装证书助手" in server.client.get("/portal/static/download.html").text
    script = server.client.get("/portal/static/login.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "请安装新版驱动或驱动出错" in script.text
    for bad in ("..%2Fconfig.py", "router.py", ".hidden.js", "nothing.js", "portal.css%00.js", "index.html", "x.html"):
        assert server.client.get(f"/portal/static/{bad}").status_code == 404, bad


def test_bridge_port_and_portal_origins_are_configured(make_server: ServerFactory) -> None:
    server = make_server(bridge_port=9555, portal_origins=["https://portal.example.cn:443/"])
    assert "http://127.0.0.1:9555" in server.client.get("/").headers["content-security-policy"]
    assert web_challenge(server, "https://portal.example.cn").status_code == 200
    user = new_user(server)
    key, body = issue(server, user)
    response = web_login(server, key, body["sign_certificate"], origin="https://portal.example.cn")
    assert response.status_code == 200, response.text


def test_web_certificate_login_single_use(server: Server) -> None:
    user = new_user(server)
    key, body = issue(server, user)
    cert = body["sign_certificate"]
    challenge = web_challenge(server).json()
    first = web_login(server, key, cert, challenge=challenge)
    assert first.status_code == 200, first.text
    me = server.api("GET", "/api/v1/me", first.json()["token"]).json()
    assert me["session"] == "certificate" and me["certificate"]["serial"] == first.json()["certificate"]["serial"]
    replay = web_login(server, key, cert, challenge=challenge)
    assert replay.status_code == 401 and replay.json()["error"] == "nonce_invalid"


def test_web_login_refusals(server: Server) -> None:
    user = new_user(server)
    key, body = issue(server, user)
    cert = body["sign_certificate"]
    for origin in (None, "https://evil.example", "http://127.0.0.1:8471"):  # the nonce is only for the portal
        refused = web_challenge(server, origin)
        assert refused.status_code == 403 and refused.json()["error"] == "portal_origin", origin
    # signed for another site (what a bridge allowing that site would make): refused before the nonce is spent
    elsewhere = web_login(server, key, cert, signed_for="https://evil.example")
    assert elsewhere.status_code == 403 and elsewhere.json()["error"] == "portal_origin"
    # claimed for the portal but signed for another origin: the rebuilt challenge does not verify
    mislabelled = web_login(server, key, cert, signed_for="https://evil.example", claimed=PORTAL)
    assert mislabelled.status_code == 401 and mislabelled.json()["error"] == "signature_invalid"
    stranger = web_login(server, SM2PrivateKey.generate(), cert)
    assert stranger.status_code == 401 and stranger.json()["error"] == "signature_invalid"
    # a tray login's nonce cannot be used on the web (and the other way round)
    tray = server.api("POST", "/api/v1/login/challenge").json()
    crossed = web_login(server, key, cert, challenge=tray)
    assert crossed.status_code == 401 and crossed.json()["error"] == "nonce_invalid"
    web = web_challenge(server).json()
    tbs = LoginChallenge(ChallengePurpose.TRAY_LOGIN, PORTAL, unb64(web["nonce"])).to_be_signed()
    payload = {"nonce_id": web["nonce_id"], "certificate": cert, "signature": b64(key.sign(tbs))}
    assert server.api("POST", "/api/v1/login/certificate", json=payload).json()["error"] == "nonce_invalid"
    # sent from a page of another origin (a cross-site form post or script)
    sent_elsewhere = server.client.post(
        "/api/v1/portal/login/certificate",
        json={"nonce_id": "x", "origin": PORTAL, "certificate": cert, "signature": b64(bytes(72))},
        headers={"Origin": "https://evil.example"},
    )
    assert sent_elsewhere.status_code == 403 and sent_elsewhere.json()["error"] == "portal_origin"


def test_web_login_refuses_a_revoked_certificate(server: Server) -> None:
    user = new_user(server)
    key, body = issue(server, user)
    cert = body["sign_certificate"]
    first = web_login(server, key, cert)
    assert first.status_code == 200, first.text
    token = first.json()["token"]  # a certificate session from the web login may revoke (证书废除)
    revoked = server.api("POST", "/api/v1/certificates/revoke", token, json={"reason": "key_compromise"})
    assert revoked.status_code == 200, revoked.text
    again = web_login(server, key, cert)
    assert again.status_code == 403 and again.json()["error"] == "certificate_revoked"
