"""Routes of the web portal: its pages and files, and the web certificate login.

证书登录 on the web: the page asks for a nonce issued for ``ChallengePurpose.WEB_LOGIN`` only, has the
assistant sign ``LoginChallenge(WEB_LOGIN, page origin, nonce)`` after its own dialog, and sends the
signature back with the origin it was made for. The service accepts it only when that origin is one of
its portal origins and the request itself came from that origin; the signature, the certificate's
validity and revocation and the single-use nonce are checked by the same function as the tray's login
(``Logins.certificate_login`` with the web purpose).
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Optional

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from gm.challenge import ChallengePurpose, InvalidOrigin, service_origin
from server import schemas
from server.api.deps import ERRORS, Svc, client_of
from server.config import ServerConfig
from server.errors import ServiceError, forbidden
from server.logins import Login

router = APIRouter(responses=ERRORS)
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
PAGE_FILES = {"download.html"}  # pages reached by their file name


class WebCertificateLoginIn(schemas.CertificateLoginIn):
    origin: str = Field(min_length=1, max_length=255)


def portal_origins(config: ServerConfig) -> frozenset[str]:
    """The public URL's origin and the configured portal origins, normalised (unusable ones left out)."""
    found = set()
    for url in (config.public_url, *config.portal_origins):
        try:
            found.add(service_origin(url))
        except InvalidOrigin:
            continue
    return frozenset(found)


def bridge_sources(config: ServerConfig) -> str:
    return f"http://127.0.0.1:{config.bridge_port} http://localhost:{config.bridge_port}"


def security_headers(config: ServerConfig) -> dict[str, str]:
    """A strict policy: our own scripts and styles only, data: images (the captcha), the bridge on loopback."""
    policy = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {bridge_sources(config)}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-cache",
    }


def _static(name: str) -> bytes:
    return (resources.files("server.portal") / "static" / name).read_bytes()


def _page(name: str, config: ServerConfig) -> HTMLResponse:
    html = _static(name).decode("utf-8").replace("{{BRIDGE_PORT}}", str(config.bridge_port))
    return HTMLResponse(html, headers=security_headers(config))


@router.get("/", include_in_schema=False)
def index(svc: Svc) -> HTMLResponse:
    return _page("index.html", svc.config)


@router.get("/account", include_in_schema=False)
def account_page(svc: Svc) -> HTMLResponse:
    return _page("account.html", svc.config)


def _served() -> dict[str, str]:
    """The files /portal/static/ serves (name -> media type): the folder's scripts and styles, nothing else."""
    folder = resources.files("server.portal") / "static"
    found = {}
    for entry in folder.iterdir():
        suffix = entry.name[entry.name.rfind(".") :]
        if entry.is_file() and suffix in STATIC_TYPES:
            found[entry.name] = STATIC_TYPES[suffix]
    return found


SERVED = _served()


@router.get("/portal/static/{name}", include_in_schema=False)
def static_file(name: str, svc: Svc) -> Response:
    if name.endswith(".html"):  # the pages themselves, for a link to the download help
        if name not in PAGE_FILES:
            raise ServiceError("not_found", "没有这个文件", 404)
        return _page(name, svc.config)
    media_type = SERVED.get(name)  # only names listed from the folder: nothing from the request reaches a path
    if media_type is None:
        raise ServiceError("not_found", "没有这个文件", 404)
    return Response(_static(name), media_type=media_type, headers=security_headers(svc.config))


def _page_origin(svc: Svc, origin: Optional[str]) -> str:
    """The calling page's origin (the browser's Origin header) when it is one of the portal's."""
    allowed = portal_origins(svc.config)
    try:
        normal = service_origin(origin or "")
    except InvalidOrigin:
        normal = ""
    if normal not in allowed:
        raise forbidden("portal_origin", "证书登录只能在本系统的登录页面上进行")
    return normal


@router.post("/api/v1/portal/challenge", response_model=schemas.ChallengeOut, tags=["login"])
def web_challenge(
    request: Request, svc: Svc, origin: Annotated[Optional[str], Header()] = None
) -> schemas.ChallengeOut:
    """A nonce for a web certificate login (usable for ``web-login`` challenges only)."""
    _page_origin(svc, origin)
    made = svc.logins.new_challenge(client_of(request), purpose=ChallengePurpose.WEB_LOGIN)
    return schemas.ChallengeOut(nonce_id=made.nonce_id, nonce=schemas.b64text(made.nonce), expires_in=made.expires_in)


@router.post("/api/v1/portal/login/certificate", response_model=schemas.LoginOut, tags=["login"])
def web_certificate_login(
    body: WebCertificateLoginIn, request: Request, svc: Svc, origin: Annotated[Optional[str], Header()] = None
) -> Login:
    """证书登录 from the portal page: the signature over ``LoginChallenge(web-login, origin, nonce)``."""
    page = _page_origin(svc, origin)
    try:
        signed_for = service_origin(body.origin)
    except InvalidOrigin:
        signed_for = ""
    if signed_for != page:
        raise forbidden("portal_origin", "签名所属的网站与当前登录页面不一致，已拒绝")
    return svc.logins.certificate_login(
        body.nonce_id,
        body.certificate,
        body.signature,
        client_of(request),
        purpose=ChallengePurpose.WEB_LOGIN,
        origin=signed_for,
    )
