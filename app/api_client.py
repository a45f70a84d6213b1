"""HTTP client of the issuing service (the only contract between app and server is its OpenAPI schema)."""

from __future__ import annotations

import ssl
import threading
from typing import Any, Callable, Dict, List, Optional

import httpx

from app.contract import (
    Captcha,
    Challenge,
    EarlierKey,
    IssuanceCodeSent,
    IssuedPair,
    RevocationReason,
    Revoked,
    SessionInfo,
    UnlockTicket,
    b64encode,
)
from gm.challenge import ChallengePurpose, InvalidOrigin, service_origin

__all__ = ["ApiError", "InsecureServiceUrl", "IssuedPair", "IssuingClient", "ProxyUnavailable", "ServiceUnavailable"]

PROXY_HINT = "请检查网络连接；如需通过代理上网，请在「设置 → 代理服务」中配置代理后重试"


class ServiceUnavailable(Exception):
    """The service could not be reached (network, proxy, server down). The message says what to check."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(f"无法连接证书服务（{url}）：{detail}。{PROXY_HINT}")
        self.url = url


class ProxyUnavailable(ServiceUnavailable):
    """The configured proxy server does not answer (the service itself was never reached)."""

    def __init__(self, url: str, proxy: str) -> None:
        super().__init__(url, f"代理服务器 {proxy} 没有响应")
        self.proxy = proxy


class InsecureServiceUrl(Exception):
    """The configured service URL is not one the client talks to: plain http off loopback (anyone on the way
    could read and change the traffic and see a login challenge for another site), or not a URL at all."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(detail)
        self.url = url


class ApiError(Exception):
    """The service refused: ``code`` is stable, ``message`` is the service's Chinese explanation."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


_tls_lock = threading.Lock()
_tls: Optional[ssl.SSLContext] = None


def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the CA store costs ~0.1 s, too much per client."""
    global _tls  # noqa: PLW0603 - a process-wide cache
    with _tls_lock:
        if _tls is None:
            _tls = ssl.create_default_context()
        return _tls


class IssuingClient:
    """One logged-in conversation with the service. ``http`` may be injected (tests, custom TLS)."""

    def __init__(
        self,
        base_url: str,
        proxy: Optional[str] = None,
        timeout: float = 30.0,
        http: Optional[httpx.Client] = None,
        system_proxy: bool = False,
        wait_ready: Optional[Callable[[], None]] = None,
    ) -> None:
        """``wait_ready`` blocks (on the worker thread) until the service can answer, e.g. while the
        demo's embedded service is still starting; it raises ServiceUnavailable if it never will."""
        self.base_url = base_url.rstrip("/")
        self._wait_ready = wait_ready
        self._http = http
        self._http_lock = threading.Lock()
        self._proxy, self._timeout, self._trust_env = proxy, timeout, system_proxy and proxy is None
        self.token: Optional[str] = None
        self._origin: Optional[str] = None

    @property
    def origin(self) -> str:
        """The service's origin as this client is configured with it (the origin a login challenge names).
        Raises InsecureServiceUrl for plain http off loopback (the local demo on 127.0.0.1 is fine)."""
        if self._origin is None:
            try:
                self._origin = service_origin(self.base_url)
            except InvalidOrigin as exc:
                raise InsecureServiceUrl(self.base_url, str(exc)) from None
        return self._origin

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
        self.origin  # noqa: B018 - refuses an insecure service URL before anything is sent
        if self._wait_ready is not None:
            self._wait_ready()
        try:
            return self.http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError) as exc:
            if self._proxy is not None:  # the connection that failed was the one to the proxy
                raise ProxyUnavailable(self.base_url, _without_credentials(self._proxy)) from exc
            if isinstance(exc, httpx.ConnectTimeout):
                raise ServiceUnavailable(self.base_url, "连接超时") from exc
            raise ServiceUnavailable(self.base_url, type(exc).__name__) from exc
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
    def captcha(self) -> Captcha:
        return Captcha.parse(self._call("POST", "/api/v1/captcha", auth=False))

    def login_account(self, username: str, applicant_name: str, captcha_id: str, answer: str) -> SessionInfo:
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
        self.token = str(data["token"])
        return SessionInfo.parse(data)

    def challenge(self, purpose: ChallengePurpose = ChallengePurpose.TRAY_LOGIN) -> Challenge:
        """A login nonce (checked: exactly 32 bytes) for ``purpose``."""
        return Challenge.parse(self._call("POST", "/api/v1/login/challenge", {"purpose": purpose.value}, auth=False))

    def login_certificate(self, nonce_id: str, certificate: bytes, signature: bytes) -> SessionInfo:
        """``signature`` is over ``LoginChallenge(TRAY_LOGIN, self.origin, nonce).to_be_signed()``."""
        data = self._call(
            "POST",
            "/api/v1/login/certificate",
            {
                "nonce_id": nonce_id,
                "certificate": b64encode(certificate),
                "signature": b64encode(signature),
                "origin": self.origin,
            },
            auth=False,
        )
        self.token = str(data["token"])
        return SessionInfo.parse(data)

    def me(self) -> SessionInfo:
        return SessionInfo.parse(self._call("GET", "/api/v1/me"))

    def logout(self) -> None:
        if self.token:
            try:
                self._call("POST", "/api/v1/logout")
            finally:
                self.token = None

    # -- the holder's secret for issuance -----------------------------------------------------
    def authorize_issuance(self, secret: str) -> None:
        """Open 证书签发 / 证书换发 to this account login with the mailed issuance code (签发码) or the account
        password; a wrong one is refused (ApiError issuance_secret_wrong)."""
        self._call("POST", "/api/v1/account/issuance-authorization", {"secret": secret.strip()})

    def send_issuance_code(self) -> IssuanceCodeSent:
        """重新发送签发码: the service mails a new issuance code to the registered address."""
        return IssuanceCodeSent.parse(self._call("POST", "/api/v1/account/issuance-code"))

    # -- lifecycle -------------------------------------------------------------------------
    def _pair(
        self, path: str, csr: bytes, admin_credential: Optional[str], admin_credential_of: Optional[str]
    ) -> IssuedPair:
        body: Dict[str, Any] = {"csr": b64encode(csr)}
        if admin_credential:
            body["admin_credential"] = admin_credential
        elif admin_credential_of:
            body["admin_credential_of"] = admin_credential_of
        return IssuedPair.parse(self._call("POST", path, body))

    def issue(
        self, csr: bytes, admin_credential: Optional[str], admin_credential_of: Optional[str] = None
    ) -> IssuedPair:
        """``admin_credential``: the device's admin credential to escrow; or ``admin_credential_of``: the serial of
        the account's earlier pair on the same USB key, whose escrowed one the new pair keeps."""
        return self._pair("/api/v1/certificates/issue", csr, admin_credential, admin_credential_of)

    def exchange(
        self, csr: bytes, admin_credential: Optional[str], admin_credential_of: Optional[str] = None
    ) -> IssuedPair:
        return self._pair("/api/v1/certificates/exchange", csr, admin_credential, admin_credential_of)

    def update(
        self, csr: bytes, admin_credential: Optional[str], admin_credential_of: Optional[str] = None
    ) -> IssuedPair:
        return self._pair("/api/v1/certificates/update", csr, admin_credential, admin_credential_of)

    def revoke(self, reason: RevocationReason = RevocationReason.CESSATION_OF_OPERATION) -> Revoked:
        return Revoked.parse(self._call("POST", "/api/v1/certificates/revoke", {"reason": reason.value}))

    def report_backup(self) -> None:
        """备份证书: the audit log records that the logged-in certificate was backed up (nothing secret sent)."""
        self._call("POST", "/api/v1/certificates/backup-made")

    def earlier_keys(self) -> List[EarlierKey]:
        """The holder's earlier escrowed encryption keys, enveloped to the logged-in signing key."""
        data = self._call("POST", "/api/v1/certificates/earlier-keys")
        return [EarlierKey.parse(item) for item in data["keys"]]

    def unlock_request(self, certificate: bytes) -> UnlockTicket:
        data = self._call("POST", "/api/v1/unlock/request", {"certificate": b64encode(certificate)}, auth=False)
        return UnlockTicket.parse(data)

    def unlock_complete(self, unlock_id: str, certificate: bytes, code: str) -> str:
        data = self._call(
            "POST",
            "/api/v1/unlock/complete",
            {"unlock_id": unlock_id, "certificate": b64encode(certificate), "code": code},
            auth=False,
        )
        return str(data["admin_credential"])

    def escrow_admin_credential(self, admin_credential: str) -> None:
        self._call("PUT", "/api/v1/admin-credential", {"admin_credential": admin_credential})


def _without_credentials(proxy: str) -> str:
    """The proxy URL as the user may see it (no user name or password)."""
    scheme, _, rest = proxy.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}" if rest else proxy
