"""证书解锁: the mailed unlock code, the escrowed admin credential it releases, and its re-escrow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from server import schemas
from server.api.deps import ERRORS, Svc, certificate_login, client_of
from server.sessions import CertificateLogin
from server.unlock import UnlockRequested

router = APIRouter(tags=["unlock"], responses=ERRORS)


@router.post("/api/v1/unlock/request", response_model=schemas.UnlockRequestOut)
def unlock_request(body: schemas.UnlockRequestIn, request: Request, svc: Svc) -> UnlockRequested:
    """证书解锁 step 1: mails a one-time unlock code to the account's registered email."""
    return svc.unlock.request(body.certificate, client_of(request))


@router.post("/api/v1/unlock/complete", response_model=schemas.UnlockCompleteOut)
def unlock_complete(body: schemas.UnlockCompleteIn, request: Request, svc: Svc) -> schemas.UnlockCompleteOut:
    """证书解锁 step 2: a valid code releases this container's escrowed admin credential."""
    released = svc.unlock.complete(body.unlock_id, body.certificate, body.code, client_of(request))
    return schemas.UnlockCompleteOut(admin_credential=released)


@router.put("/api/v1/admin-credential", status_code=204)
def escrow_admin_credential(
    body: schemas.AdminCredentialIn,
    svc: Svc,
    login: Annotated[CertificateLogin, Depends(certificate_login("托管解锁凭据"))],
) -> Response:
    svc.unlock.escrow_admin_credential(login, body.admin_credential)
    return Response(status_code=204)
