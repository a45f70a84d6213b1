"""Service errors: an HTTP status, a stable code for clients, and a Chinese message that says what to do."""

from __future__ import annotations

from typing import Optional


class ServiceError(Exception):
    status = 400

    def __init__(
        self, code: str, message: str, status: Optional[int] = None, retry_after: Optional[int] = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status
        self.retry_after = retry_after


class RateLimited(ServiceError):
    status = 429

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, (retry_after + 59) // 60)
        super().__init__("rate_limited", f"操作过于频繁，请{minutes}分钟后再试", retry_after=retry_after)


def bad_request(code: str, message: str) -> ServiceError:
    return ServiceError(code, message, 400)


def unauthorized(code: str, message: str) -> ServiceError:
    return ServiceError(code, message, 401)


def forbidden(code: str, message: str) -> ServiceError:
    return ServiceError(code, message, 403)


def not_found(code: str, message: str) -> ServiceError:
    return ServiceError(code, message, 404)


def conflict(code: str, message: str) -> ServiceError:
    return ServiceError(code, message, 409)
