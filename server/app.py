"""FastAPI application factory: the service built and started, then the app around it (lifespan, routers,
error handlers, and the request-level protections of server.api.guards: trusted proxies, body size limit,
security headers). The connection-level ones (header and body deadlines) are server.api.transport's."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import AsyncIterator, Iterator, Optional

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.api import ROUTERS, docs
from server.api.guards import BodyLimit, ForwardedFrom, SecurityHeaders
from server.config import ServerConfig, config_from_dict, config_to_dict
from server.db import Database
from server.errors import ServiceError
from server.mail import Mailer, make_mailer
from server.sealing import Sealer
from server.service import IssuingService
from server.validation import INVALID_INPUT


def build_service(config: ServerConfig, mailer: Optional[Mailer] = None) -> IssuingService:
    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name == "posix" and config.data_dir.stat().st_mode & 0o077:
        config.data_dir.chmod(0o700)  # made by an earlier version, or by hand: keys and personal data inside
    return IssuingService(
        config,
        Database(config.database_url),
        Sealer.load_or_create(config.data_dir),
        mailer or make_mailer(config.mail, timeout=config.mail_claim_s / 8),  # server.delivery
    )


def create_app(config: ServerConfig, service: Optional[IssuingService] = None) -> FastAPI:
    svc = service or build_service(config)
    svc.start()  # migrations and CA set-up happen before the first request, not lazily
    svc.start_background()  # mail delivery and housekeeping

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        to_thread.current_default_thread_limiter().total_tokens = svc.config.threads
        yield
        svc.close()  # delivers the mail that is due before the process ends

    app = FastAPI(
        title="CertAssist issuing service (证书助手签发服务)",
        version="1",
        description="Accounts, captcha, SM2 dual-certificate lifecycle, unlock codes by mail, CRL.",
        lifespan=lifespan,
        docs_url=None,  # server.api.docs serves /docs without a CDN
        redoc_url=None,
    )
    app.state.service = svc
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(docs.router)
    _add_error_handlers(app)
    # The last added runs first: the client's real address, then the headers (also on a 413), then the limit.
    app.add_middleware(BodyLimit, max_bytes=svc.config.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ForwardedFrom, proxies=svc.config.trusted_proxies, header=svc.config.forwarded_header)
    return app


HTTP_REFUSALS = {
    400: ("invalid_request", "请求内容无法解析，请检查提交的内容"),
    404: ("not_found", "没有该资源"),
    405: ("method_not_allowed", "不支持该请求方法"),
}


def _add_error_handlers(app: FastAPI) -> None:
    """Every refusal is ``{"error": code, "message": Chinese text}`` with its status (and Retry-After)."""

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """FastAPI's own refusals (a body that is not JSON, an unknown path, a wrong method) in the same form."""
        code, message = HTTP_REFUSALS.get(exc.status_code, ("invalid_request", "请求无法处理"))
        return JSONResponse({"error": code, "message": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        for err in exc.errors():  # a name or address check (server.validation) says itself what is wrong
            if err.get("type") == INVALID_INPUT:
                code = str((err.get("ctx") or {}).get("code", "invalid_request"))
                return JSONResponse({"error": code, "message": str(err.get("msg", ""))}, status_code=400)
        fields = ", ".join(".".join(str(p) for p in err.get("loc", ())[1:]) or "body" for err in exc.errors())
        return JSONResponse({"error": "invalid_request", "message": f"请求参数不正确：{fields}"}, status_code=422)


CONFIG_ENV = "CERTASSIST_SERVER_CONFIG_FILE"


@contextmanager
def write_worker_config(config: ServerConfig) -> Iterator[None]:
    """The configuration for multi-worker uvicorn, in a 0600 file in the (0700) data dir named by CONFIG_ENV:
    the SMTP password never passes through the environment of a worker process. Removed afterwards."""
    descriptor, name = tempfile.mkstemp(prefix=".workers-", suffix=".json", dir=config.data_dir)  # mode 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(config_to_dict(config), file)
        os.environ[CONFIG_ENV] = name
        yield
    finally:
        os.environ.pop(CONFIG_ENV, None)
        Path(name).unlink(missing_ok=True)


def app_from_environment() -> FastAPI:
    """Factory for multi-worker uvicorn: each worker process builds the app from the file the parent wrote."""
    from server.api.transport import GuardedHttpProtocol

    config = config_from_dict(json.loads(Path(os.environ[CONFIG_ENV]).read_text(encoding="utf-8")))
    GuardedHttpProtocol.configure(config.header_timeout_s, config.body_timeout_s)
    return create_app(config)
