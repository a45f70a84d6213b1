"""Logins and sessions: captcha, 账号登录, the certificate-login challenge, 证书登录, logout, who am I."""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Request, Response

from gm.challenge import ChallengePurpose
from server import schemas
from server.api.deps import ERRORS, Svc, Token, Who, client_of
from server.logins import Login, Me

router = APIRouter(tags=["login"], responses=ERRORS)


@router.post("/api/v1/captcha", response_model=schemas.CaptchaOut)
def captcha(request: Request, svc: Svc) -> schemas.CaptchaOut:
    made = svc.logins.new_captcha(client_of(request))
    return schemas.CaptchaOut(
        captcha_id=made.captcha_id, image_png=schemas.b64text(made.image_png), expires_in=made.expires_in
    )


@router.post("/api/v1/login/account", response_model=schemas.LoginOut)
def login_account(body: schemas.AccountLoginIn, request: Request, svc: Svc) -> Login:
    return svc.logins.account_login(
        body.username, body.applicant_name, body.captcha_id, body.captcha_answer, client_of(request)
    )


@router.post("/api/v1/login/challenge", response_model=schemas.ChallengeOut)
def login_challenge(request: Request, svc: Svc, body: Optional[schemas.ChallengeIn] = None) -> schemas.ChallengeOut:
    """A single-use nonce; the client signs the labelled challenge built from it (gm.challenge.LoginChallenge)."""
    purpose = body.purpose if body is not None else ChallengePurpose.TRAY_LOGIN
    made = svc.logins.new_challenge(client_of(request), purpose)
    return schemas.ChallengeOut(
        nonce_id=made.nonce_id, nonce=schemas.b64text(made.nonce), expires_in=made.expires_in, purpose=made.purpose
    )


@router.post("/api/v1/login/certificate", response_model=schemas.LoginOut)
def login_certificate(body: schemas.CertificateLoginIn, request: Request, svc: Svc) -> Login:
    """证书登录 of the tray: the signature over ``LoginChallenge(tray-login, <this service's origin>, nonce)``."""
    if body.origin is not None:
        svc.logins.check_client_origin(body.origin)
    return svc.logins.certificate_login(body.nonce_id, body.certificate, body.signature, client_of(request))


@router.post("/api/v1/logout", status_code=204)
def logout(svc: Svc, token: Token) -> Response:
    svc.sessions.end(token)
    return Response(status_code=204)


@router.get("/api/v1/me", response_model=schemas.MeOut)
def me(svc: Svc, who: Who) -> Me:
    return svc.logins.me(who)
