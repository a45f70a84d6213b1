"""Backups and earlier encryption keys (certificate login): the audit record of a backup, and the KMC's
earlier encryption keys of the holder, enveloped to the signing key that logged in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from server import schemas
from server.api.deps import ERRORS, Svc, certificate_login, client_of
from server.sessions import CertificateLogin

router = APIRouter(tags=["certificates"], responses=ERRORS)


@router.post("/api/v1/certificates/backup-made", status_code=204)
def backup_made(
    request: Request,
    svc: Svc,
    login: Annotated[CertificateLogin, Depends(certificate_login("备份证书"))],
) -> Response:
    """备份证书: records in the audit log that the holder backed up this certificate (nothing secret is sent)."""
    svc.key_history.record_backup(login, client_of(request))
    return Response(status_code=204)


@router.post("/api/v1/certificates/earlier-keys", response_model=schemas.EarlierKeysOut)
def earlier_keys(
    request: Request,
    svc: Svc,
    login: Annotated[CertificateLogin, Depends(certificate_login("找回历史加密密钥"))],
) -> schemas.EarlierKeysOut:
    """The account's earlier escrowed encryption keys (before 证书更新/证书换发), each with its certificate and
    enveloped to the logged-in signing key. Rate-limited per account; audited."""
    keys = svc.key_history.earlier_keys(login, client_of(request))
    return schemas.EarlierKeysOut(
        keys=[
            schemas.EarlierKeyOut(
                encryption_certificate=schemas.b64text(item.certificate),
                enveloped_key=schemas.b64text(item.enveloped_key),
            )
            for item in keys
        ]
    )
