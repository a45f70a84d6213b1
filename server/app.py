"""FastAPI application factory: the service built and started, then the app around it (lifespan, routers,
error handlers). Request-level protections (body size limits, trusted proxies, security headers: issue 13)
belong in ``create_app`` beside the error handlers, as middleware of the app."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator, Optional

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from server.api import ROUTERS
from server.config import ServerConfig
from server.db import Database
from server.errors import ServiceError
from server.mail import Mailer, make_mailer
from server.sealing import Sealer
from server.service import IssuingService
from server.validation import INVALID_INPUT


def build_service(config: ServerConfig, mailer: Optional[Mailer] = None) -> IssuingService:
    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return IssuingService(
        config,
        Database(config.database_url),
        Sealer.load_or_create(config.data_dir),
        mailer or make_mailer(config.mail),
    )


def create_app(config: ServerConfig, service: Optional[IssuingService] = None) -> FastAPI:
    svc = service or build_service(config)
    svc.start()  # migrations and CA set-up happen before the first request, not lazily

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        to_thread.current_default_thread_limiter().total_tokens = svc.config.threads
        yield
        svc.close()  # delivers queued mail before the process ends

    app = FastAPI(
        title="CertAssist issuing service (证书助手签发服务)",
        version="1",
        description="Accounts, captcha, SM2 dual-certificate lifecycle, unlock codes by mail, CRL.",
        lifespan=lifespan,
    )
    app.state.service = svc
    for router in ROUTERS:
        app.include_router(router)
    _add_error_handlers(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    """Every refusal is ``{"error": code, "message": Chinese text}`` with its status (and Retry-After)."""

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        for err in exc.errors():  # a name or address check (server.validation) says itself what is wrong
            if err.get("type") == INVALID_INPUT:
                code = str((err.get("ctx") or {}).get("code", "invalid_request"))
                return JSONResponse({"error": code, "message": str(err.get("msg", ""))}, status_code=400)
        fields = ", ".join(".".join(str(p) for p in err.get("loc", ())[1:]) or "body" for err in exc.errors())
        return JSONResponse({"error": "invalid_request", "message": f"请求参数不正确：{fields}"}, status_code=422)


CONFIG_ENV = "CERTASSIST_SERVER_CONFIG"


def app_from_environment() -> FastAPI:
    """Factory for multi-worker uvicorn: each worker process builds the app from the JSON config the parent set."""
    import json
    import os

    from server.config import config_from_dict

    return create_app(config_from_dict(json.loads(os.environ[CONFIG_ENV])))
