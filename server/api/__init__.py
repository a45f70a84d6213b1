"""The HTTP API: one FastAPI router per resource. Handlers are thin: they read the request, call one use case
of the service (server.service) and shape its typed result; they never touch the database or the CA."""

from __future__ import annotations

from fastapi import APIRouter

from server.api import accounts, certificates, keyhistory, logins, service, unlock
from server.portal import router as portal

ROUTERS: tuple[APIRouter, ...] = (
    service.router,
    accounts.router,
    logins.router,
    certificates.router,
    keyhistory.router,
    unlock.router,
    portal.router,
)
