"""The service itself: health, the CA chain, the CRLs."""

from __future__ import annotations

from typing import Any, Dict

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from server import schemas
from server.api.deps import Svc

router = APIRouter(tags=["service"])
CRL_RESPONSE: Dict[str, Any] = {"content": {"application/pkix-crl": {}}}


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
