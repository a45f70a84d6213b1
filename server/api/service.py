"""The service itself: health, the CA chain, the CA certificates and CRLs that certificates point to
(authorityInfoAccess caIssuers, CRL distribution points)."""

from __future__ import annotations

from typing import Any, Dict

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from server import schemas
from server.api.deps import Svc

router = APIRouter(tags=["service"])
CRL_RESPONSE: Dict[str, Any] = {"content": {"application/pkix-crl": {}}}
CERT_RESPONSE: Dict[str, Any] = {"content": {"application/pkix-cert": {}}}


@router.get("/health")
def health() -> Dict[str, str]:
    return {"status": "ok"}


@router.get("/api/v1/ca/chain", response_class=PlainTextResponse)
def ca_chain(svc: Svc) -> str:
    """The issuing CA certificates (all generations) and the root, PEM."""
    return svc.authority.chain_pem().decode()


@router.get("/crl/issuing.crl", responses={200: CRL_RESPONSE})
def current_crl(svc: Svc) -> Response:
    return Response(svc.authority.crl(), media_type="application/pkix-crl")


@router.get("/crl/issuing-g{generation}.crl", responses={200: CRL_RESPONSE, 404: {"model": schemas.ErrorOut}})
def generation_crl(generation: int, svc: Svc) -> Response:
    return Response(svc.authority.crl(generation), media_type="application/pkix-crl")


@router.get("/crl/root.crl", responses={200: CRL_RESPONSE})
def root_crl(svc: Svc) -> Response:
    """The root's CRL: the CRL distribution point of the issuing-CA certificates."""
    return Response(svc.authority.root_crl(), media_type="application/pkix-crl")


@router.get("/ca/root.cer", responses={200: CERT_RESPONSE})
def root_certificate(svc: Svc) -> Response:
    """The root certificate, DER: the caIssuers URL of the issuing-CA certificates."""
    return Response(svc.authority.root_certificate(), media_type="application/pkix-cert")


@router.get("/ca/issuing-g{generation}.cer", responses={200: CERT_RESPONSE, 404: {"model": schemas.ErrorOut}})
def issuing_certificate(generation: int, svc: Svc) -> Response:
    """An issuing-CA certificate, DER: the caIssuers URL of the certificates it issued."""
    return Response(svc.authority.issuing_certificate(generation), media_type="application/pkix-cert")
