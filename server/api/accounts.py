"""Accounts: registration, and the holder's changes by certificate login (email, password, company name)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from server import schemas
from server.api.deps import ERRORS, Svc, Token, certificate_login, client_of
from server.domain import AccountView
from server.issuance.codes import CodeSent
from server.recovery import PROOF_HINT
from server.sessions import CertificateLogin

router = APIRouter(tags=["accounts"], responses=ERRORS)


@router.post("/api/v1/accounts", response_model=schemas.AccountOut, status_code=201)
def register(body: schemas.RegisterIn, request: Request, svc: Svc) -> AccountView:
    return svc.accounts.register(
        body.username, body.applicant_name, body.account_type, body.id_number, body.email, client_of(request)
    )


@router.put("/api/v1/account/email", response_model=schemas.AccountOut)
def change_email(
    body: schemas.EmailIn,
    request: Request,
    svc: Svc,
    login: Annotated[CertificateLogin, Depends(certificate_login("修改注册邮箱", PROOF_HINT))],
) -> AccountView:
    """Change the registered email with a certificate login: no email-login-password loop."""
    return svc.recovery.change_email(login, body.email, client_of(request))


@router.put("/api/v1/account/password", status_code=204)
def set_password(
    body: schemas.PasswordIn,
    request: Request,
    svc: Svc,
    login: Annotated[CertificateLogin, Depends(certificate_login("重置密码", PROOF_HINT))],
) -> Response:
    svc.recovery.set_password(login, body.password, client_of(request))
    return Response(status_code=204)


@router.post("/api/v1/account/name-change", response_model=schemas.AccountOut)
def request_name_change(
    body: schemas.NameChangeIn,
    svc: Svc,
    login: Annotated[CertificateLogin, Depends(certificate_login("名称变更申请"))],
) -> AccountView:
    """Ask for a company-name change; an operator approves it, then 证书更新 applies it."""
    return svc.accounts.request_name_change_by_holder(login, body.new_name)


@router.post("/api/v1/account/issuance-authorization", status_code=204)
def authorize_issuance(body: schemas.IssuanceSecretIn, request: Request, svc: Svc, token: Token) -> Response:
    """Open 证书签发 / 证书换发 to this account login with the mailed issuance code or the account password."""
    svc.issuance_codes.authorize(token, body.secret, client_of(request))
    return Response(status_code=204)


@router.post("/api/v1/account/issuance-code", response_model=schemas.IssuanceCodeSentOut)
def send_issuance_code(request: Request, svc: Svc, token: Token) -> CodeSent:
    """重新发送签发码: a new issuance code to the registered address (earlier ones stay valid)."""
    return svc.issuance_codes.send(token, client_of(request))
