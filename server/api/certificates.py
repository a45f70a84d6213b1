"""Certificates: 证书签发, 证书换发, 证书更新 (each a new dual pair) and 证书废除."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from server import schemas
from server.api.deps import ERRORS, Svc, Token, certificate_login, client_of
from server.issuance.pairs import IssueResult
from server.revocation import Revoked
from server.sessions import CertificateLogin

router = APIRouter(tags=["certificates"], responses=ERRORS)


def _issue_out(result: IssueResult) -> schemas.IssueOut:
    return schemas.IssueOut(
        sign_certificate=schemas.b64text(result.sign_certificate),
        encryption_certificate=schemas.b64text(result.encryption_certificate),
        enveloped_key=schemas.b64text(result.enveloped_key),
        ca_chain_pem=result.ca_chain_pem.decode(),
        admin_credential_escrowed=result.admin_escrowed,
    )


@router.post("/api/v1/certificates/issue", response_model=schemas.IssueOut)
async def issue(body: schemas.IssueIn, request: Request, svc: Svc, token: Token) -> schemas.IssueOut:
    """证书签发: signing certificate for the CSR's key, encryption certificate, enveloped encryption key."""
    # Awaited, not run on the thread pool: the service's issuing threads make the first issuances that
    # arrive together in one transaction.
    issued = svc.issuance.issue_later(
        token, body.csr, body.admin_credential, client_of(request), admin_credential_of=body.admin_credential_of
    )
    return _issue_out(await asyncio.wrap_future(issued))


@router.post("/api/v1/certificates/exchange", response_model=schemas.IssueOut)
def exchange(body: schemas.IssueIn, request: Request, svc: Svc, token: Token) -> schemas.IssueOut:
    """证书换发: for accounts flagged for exchange; the old pair is revoked as superseded."""
    return _issue_out(
        svc.renewal.exchange(
            token, body.csr, body.admin_credential, client_of(request), admin_credential_of=body.admin_credential_of
        )
    )


@router.post("/api/v1/certificates/update", response_model=schemas.IssueOut)
def update(
    body: schemas.IssueIn,
    request: Request,
    svc: Svc,
    login: Annotated[CertificateLogin, Depends(certificate_login("证书更新"))],
) -> schemas.IssueOut:
    """证书更新: renewal near expiry, or an approved name change (certificate login)."""
    return _issue_out(
        svc.renewal.update(
            login, body.csr, body.admin_credential, client_of(request), admin_credential_of=body.admin_credential_of
        )
    )


@router.post("/api/v1/certificates/revoke", response_model=schemas.RevokeOut)
def revoke(
    body: schemas.RevokeIn,
    request: Request,
    svc: Svc,
    login: Annotated[CertificateLogin, Depends(certificate_login("证书废除"))],
) -> Revoked:
    """证书废除: revokes the logged-in certificate pair; the CRL is updated at once."""
    return svc.revocation.revoke(login, body.reason, client_of(request))
