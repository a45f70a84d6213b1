"""Accounts: registration, and the holder's changes by certificate login (email, password, company name)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from server import schemas
from server.api.deps import ERRORS, Svc, certificate_login, client_of
from server.domain import AccountView
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
