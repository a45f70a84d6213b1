"""HTTP client of the issuing service (the only contract between app and server is its OpenAPI schema)."""

from __future__ import annotations

import base64
import ssl
import threading
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import httpx

from gm.envelope import EnvelopedKey
from gm.x509 import Certificate

PROXY_HINT = "请检查网络连接；如需通过代理上网，请在「设置 → 代理服务」中配置代理后重试"


class ServiceUnavailable(Exception):
    """The service could not be reached (network, proxy, server down). The message says what to check."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(f"无法连接证书服务（{url}）：{detail}。{PROXY_HINT}")
        self.url = url


class ApiError(Exception):
    """The service refused: ``code`` is stable, ``message`` is the service's Chinese explanation."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class IssuedPair:
    sign: Certificate
    encryption: Certificate
    envelope: EnvelopedKey
    chain_pem: bytes


_tls_lock = threading.Lock()
_tls: Optional[ssl.SSLContext] = None


def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the CA store costs ~0.1 s, too much per client."""
    global _tls  # noqa: PLW0603 - a process-wide cache
    with _tls_lock:
        if _tls is None:
            _tls = ssl.create_default_context()
        return _tls


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class IssuingClient:
    """One logged-in conversation with the service. ``http`` may be injected (tests, custom TLS)."""

    def __init__(
        self,
        base_url: str,
        proxy: Optional[str] = None,
        timeout: float = 30.0,
        http: Optional[httpx.Client] = None,
        system_proxy: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http
        self._http_lock = threading.Lock()
        self._proxy, self._timeout, self._trust_env = proxy, timeout, system_proxy and proxy is None
        self.token: Optional[str] = None

    @property
    def http(self) -> httpx.Client:
        """Made on first use, i.e. on the worker thread that makes the first call (TLS set-up is slow)."""
        with self._http_lock:
            if self._http is None:
                self._http = httpx.Client(
                    base_url=self.base_url,
                    proxy=self._proxy,
                    timeout=self._timeout,
                    trust_env=self._trust_env,
                    verify=tls_context(),
                )
            return self._http

    def close(self) -> None:
        with self._http_lock:
            if self._http is not None:
                self._http.close()

    # -- transport -------------------------------------------------------------------------
    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise ServiceUnavailable(self.base_url, "连接超时") from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailable(self.base_url, type(exc).__name__) from exc

    def health(self) -> httpx.Response:
        """The raw answer of ``/health`` (status, Date header) for connection tests and clock checks."""
        return self._send("GET", "/health")

    def _call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None, auth: bool = True) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if auth and self.token else {}
        response = self._send(method, path, json=body, headers=headers)
        if response.status_code >= 400:
            try:
                data = response.json()
                raise ApiError(response.status_code, str(data["error"]), str(data["message"]))
            except (ValueError, KeyError, TypeError):
                raise ApiError(
                    response.status_code, "http_error", f"证书服务返回错误（HTTP {response.status_code}），请稍后重试"
                ) from None
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    def ca_chain(self) -> str:
        """The issuing CA and root certificates (PEM), for 环境修复's trust check."""
        data = self._call("GET", "/api/v1/ca/chain", auth=False)
        return data.decode() if isinstance(data, bytes) else str(data)

    # -- login -----------------------------------------------------------------------------
    def captcha(self) -> Tuple[str, bytes]:
        data = self._call("POST", "/api/v1/captcha", auth=False)
        return str(data["captcha_id"]), base64.b64decode(data["image_png"])

    def login_account(self, username: str, applicant_name: str, captcha_id: str, answer: str) -> Dict[str, Any]:
        data = self._call(
            "POST",
            "/api/v1/login/account",
            {
                "username": username,
                "applicant_name": applicant_name,
                "captcha_id": captcha_id,
                "captcha_answer": answer,
            },
            auth=False,
        )
        self.token = data["token"]
        return dict(data)

    def challenge(self) -> Tuple[str, bytes]:
        data = self._call("POST", "/api/v1/login/challenge", auth=False)
        return str(data["nonce_id"]), base64.b64decode(data["nonce"])

    def login_certificate(self, nonce_id: str, certificate: bytes, signature: bytes) -> Dict[str, Any]:
        data = self._call(
            "POST",
            "/api/v1/login/certificate",
            {"nonce_id": nonce_id, "certificate": _b64(certificate), "signature": _b64(signature)},
            auth=False,
        )
        self.token = data["token"]
        return dict(data)

    def me(self) -> Dict[str, Any]:
        return dict(self._call("GET", "/api/v1/me"))

    def logout(self) -> None:
        if self.token:
            try:
                self._call("POST", "/api/v1/logout")
            finally:
                self.token = None

    # -- lifecycle -------------------------------------------------------------------------
    def _pair(self, path: str, csr: bytes, admin_credential: Optional[str]) -> IssuedPair:
        body: Dict[str, Any] = {"csr": _b64(csr)}
        if admin_credential:
            body["admin_credential"] = admin_credential
        data = self._call("POST", path, body)
        return IssuedPair(
            Certificate.load(base64.b64decode(data["sign_certificate"])),
            Certificate.load(base64.b64decode(data["encryption_certificate"])),
            EnvelopedKey.from_der(base64.b64decode(data["enveloped_key"])),
            data["ca_chain_pem"].encode(),
        )

    def issue(self, csr: bytes, admin_credential: Optional[str]) -> IssuedPair:
        return self._pair("/api/v1/certificates/issue", csr, admin_credential)

    def exchange(self, csr: bytes, admin_credential: Optional[str]) -> IssuedPair:
        return self._pair("/api/v1/certificates/exchange", csr, admin_credential)

    def update(self, csr: bytes, admin_credential: Optional[str]) -> IssuedPair:
        return self._pair("/api/v1/certificates/update", csr, admin_credential)

    def revoke(self, reason: str = "cessation_of_operation") -> Dict[str, Any]:
        return dict(self._call("POST", "/api/v1/certificates/revoke", {"reason": reason}))

    def unlock_request(self, certificate: bytes) -> Dict[str, Any]:
        return dict(self._call("POST", "/api/v1/unlock/request", {"certificate": _b64(certificate)}, auth=False))

    def unlock_complete(self, unlock_id: str, certificate: bytes, code: str) -> str:
        data = self._call(
            "POST",
            "/api/v1/unlock/complete",
            {"unlock_id": unlock_id, "certificate": _b64(certificate), "code": code},
            auth=False,
        )
        return str(data["admin_credential"])

    def escrow_admin_credential(self, admin_credential: str) -> None:
        self._call("PUT", "/api/v1/admin-credential", {"admin_credential": admin_credential})
