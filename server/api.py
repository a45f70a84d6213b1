"""HTTP API (FastAPI). Handlers are thin: parse, call IssuingService, shape the answer."""

from __future__ import annotations

import asyncio
import base64
from typing import Annotated, Any, Dict, Optional

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server import schemas
from server.errors import not_found, unauthorized
from server.service import IssueResult, IssuingService, Principal

router = APIRouter()
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
# The certificate operations check the session inside their own transaction (IssuingService._authorize).
Token = Annotated[str, Depends(bearer_token)]


def principal(svc: Svc, token: Token) -> Principal:
    return svc.principal(token)


Who = Annotated[Principal, Depends(principal)]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _issue_out(result: IssueResult) -> schemas.IssueOut:
    return schemas.IssueOut(
        sign_certificate=_b64(result.sign_certificate),
        encryption_certificate=_b64(result.encryption_certificate),
        enveloped_key=_b64(result.enveloped_key),
        ca_chain_pem=result.ca_chain_pem.decode(),
    )


@router.get("/health", tags=["service"])
def health() -> Dict[str, str]:
    return {"status": "ok"}


@router.get("/api/v1/ca/chain", response_class=PlainTextResponse, tags=["service"])
def ca_chain(svc: Svc) -> str:
    """The issuing CA certificates (all generations) and the root, PEM."""
    with svc.db.session() as session:
        return svc.ca.chain_pem(session).decode()


@router.get("/crl/issuing.crl", tags=["service"], responses={200: {"content": {"application/pkix-crl": {}}}})
def current_crl(svc: Svc) -> Response:
    with svc.db.session() as session:
        generation, _cert, _key = svc.ca.issuing(session)
        return Response(svc.ca.current_crl(session, generation).to_der(), media_type="application/pkix-crl")


@router.get(
    "/crl/issuing-g{generation}.crl",
    tags=["service"],
    responses={200: {"content": {"application/pkix-crl": {}}}, 404: {"model": schemas.ErrorOut}},
)
def generation_crl(generation: int, svc: Svc) -> Response:
    with svc.db.session() as session:
        if generation not in svc.ca.issuing_certificates(session):
            raise not_found("no_such_crl", "没有该CRL")
        return Response(svc.ca.current_crl(session, generation).to_der(), media_type="application/pkix-crl")


@router.post(
    "/api/v1/accounts", response_model=schemas.AccountOut, status_code=201, tags=["accounts"], responses=ERRORS
)
def register(body: schemas.RegisterIn, request: Request, svc: Svc) -> Dict[str, Any]:
    account = svc.register(
        body.username, body.applicant_name, body.account_type, body.id_number, body.email, client_of(request)
    )
    return svc.show(account.username)


@router.post("/api/v1/captcha", response_model=schemas.CaptchaOut, tags=["login"], responses=ERRORS)
def captcha(request: Request, svc: Svc) -> Dict[str, Any]:
    return svc.new_captcha(client_of(request))


@router.post("/api/v1/login/account", response_model=schemas.LoginOut, tags=["login"], responses=ERRORS)
def login_account(body: schemas.AccountLoginIn, request: Request, svc: Svc) -> Dict[str, Any]:
    return svc.account_login(
        body.username, body.applicant_name, body.captcha_id, body.captcha_answer, client_of(request)
    )


@router.post("/api/v1/login/challenge", response_model=schemas.ChallengeOut, tags=["login"], responses=ERRORS)
def login_challenge(request: Request, svc: Svc) -> Dict[str, Any]:
    return svc.new_nonce(client_of(request))


@router.post("/api/v1/login/certificate", response_model=schemas.LoginOut, tags=["login"], responses=ERRORS)
def login_certificate(body: schemas.CertificateLoginIn, request: Request, svc: Svc) -> Dict[str, Any]:
    return svc.certificate_login(body.nonce_id, body.certificate, body.signature, client_of(request))


@router.post("/api/v1/logout", status_code=204, tags=["login"], responses=ERRORS)
def logout(svc: Svc, token: Token) -> Response:
    svc.logout(token)
    return Response(status_code=204)


@router.get("/api/v1/me", response_model=schemas.MeOut, tags=["login"], responses=ERRORS)
def me(svc: Svc, who: Who) -> Dict[str, Any]:
    return svc.me(who)


@router.post("/api/v1/certificates/issue", response_model=schemas.IssueOut, tags=["certificates"], responses=ERRORS)
async def issue(body: schemas.IssueIn, request: Request, svc: Svc, token: Token) -> schemas.IssueOut:
    """证书签发: signing certificate for the CSR's key, encryption certificate, enveloped encryption key."""
    # Awaited, not run on the thread pool: the service's issuing threads make the first issuances that
    # arrive together in one transaction.
    issued = svc.issue_later(token, body.csr, body.admin_credential, client_of(request))
    return _issue_out(await asyncio.wrap_future(issued))


@router.post("/api/v1/certificates/exchange", response_model=schemas.IssueOut, tags=["certificates"], responses=ERRORS)
def exchange(body: schemas.IssueIn, request: Request, svc: Svc, token: Token) -> schemas.IssueOut:
    """证书换发: for accounts flagged for exchange; the old pair is revoked as superseded."""
    return _issue_out(svc.exchange(token, body.csr, body.admin_credential, client_of(request)))


@router.post("/api/v1/certificates/update", response_model=schemas.IssueOut, tags=["certificates"], responses=ERRORS)
def update(body: schemas.IssueIn, request: Request, svc: Svc, token: Token) -> schemas.IssueOut:
    """证书更新: renewal near expiry, or an approved name change (certificate login)."""
    return _issue_out(svc.update(token, body.csr, body.admin_credential, client_of(request)))


@router.post("/api/v1/certificates/revoke", response_model=schemas.RevokeOut, tags=["certificates"], responses=ERRORS)
def revoke(body: schemas.RevokeIn, request: Request, svc: Svc, who: Who) -> Dict[str, Any]:
    """证书废除: revokes the logged-in certificate pair; the CRL is updated at once."""
    return svc.revoke(who, body.reason, client_of(request))


@router.post("/api/v1/unlock/request", response_model=schemas.UnlockRequestOut, tags=["unlock"], responses=ERRORS)
def unlock_request(body: schemas.UnlockRequestIn, request: Request, svc: Svc) -> Dict[str, Any]:
    """证书解锁 step 1: mails a one-time unlock code to the account's registered email."""
    return svc.unlock_request(body.certificate, client_of(request))


@router.post("/api/v1/unlock/complete", response_model=schemas.UnlockCompleteOut, tags=["unlock"], responses=ERRORS)
def unlock_complete(body: schemas.UnlockCompleteIn, request: Request, svc: Svc) -> Dict[str, str]:
    """证书解锁 step 2: a valid code releases this container's escrowed admin credential."""
    return {"admin_credential": svc.unlock_complete(body.unlock_id, body.certificate, body.code, client_of(request))}


@router.put("/api/v1/admin-credential", status_code=204, tags=["unlock"], responses=ERRORS)
def escrow_admin_credential(body: schemas.AdminCredentialIn, svc: Svc, who: Who) -> Response:
    svc.update_admin_credential(who, body.admin_credential)
    return Response(status_code=204)


@router.put("/api/v1/account/email", response_model=schemas.AccountOut, tags=["accounts"], responses=ERRORS)
def change_email(body: schemas.EmailIn, request: Request, svc: Svc, who: Who) -> Dict[str, Any]:
    """Change the registered email with a certificate login: no email-login-password loop."""
    return svc.change_email(who, body.email, client_of(request))


@router.put("/api/v1/account/password", status_code=204, tags=["accounts"], responses=ERRORS)
def set_password(body: schemas.PasswordIn, request: Request, svc: Svc, who: Who) -> Response:
    svc.set_password(who, body.password, client_of(request))
    return Response(status_code=204)


@router.post("/api/v1/account/name-change", response_model=schemas.AccountOut, tags=["accounts"], responses=ERRORS)
def request_name_change(body: schemas.NameChangeIn, svc: Svc, who: Who) -> Dict[str, Any]:
    """Ask for a company-name change; an operator approves it, then 证书更新 applies it."""
    return svc.holder_requests_name_change(who, body.new_name)
