"""Dependencies of the HTTP handlers: the service, the client's address, the session token, the principal, and
"logged in with a certificate" (one dependency for every certificate-only operation)."""

from __future__ import annotations

from typing import Annotated, Any, Callable, Dict, Optional

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server import schemas
from server.errors import unauthorized
from server.service import IssuingService
from server.sessions import CertificateLogin, Principal

ERRORS: Dict[int | str, Dict[str, Any]] = {code: {"model": schemas.ErrorOut} for code in (400, 401, 403, 404, 409, 429)}


# Dependencies that do not block are ``async``: FastAPI runs a plain ``def`` dependency on the thread pool,
# and that hop costs more than the work here.
async def service(request: Request) -> IssuingService:
    return request.app.state.service  # type: ignore[no-any-return]


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


bearer = HTTPBearer(auto_error=False, description="The token from /api/v1/login/account or /login/certificate")


async def bearer_token(credentials: Annotated[Optional[HTTPAuthorizationCredentials], Depends(bearer)]) -> str:
    if credentials is None or not credentials.credentials:
        raise unauthorized("session_required", "请先登录")
    return credentials.credentials


Svc = Annotated[IssuingService, Depends(service)]
# 证书签发 and 证书换发 check the session inside their own transaction (server.issuance.holders.authorize).
Token = Annotated[str, Depends(bearer_token)]


def principal(svc: Svc, token: Token) -> Principal:
    return svc.sessions.principal(token)


Who = Annotated[Principal, Depends(principal)]


def certificate_login(action: str, hint: str = "") -> Callable[[IssuingService, str], CertificateLogin]:
    """The dependency "logged in with a certificate" for ``action`` (named in the refusal, e.g. 证书废除)."""

    def logged_in_with_certificate(svc: Svc, token: Token) -> CertificateLogin:
        return svc.sessions.certificate_login(token, action, hint)

    return logged_in_with_certificate
