"""The bridge's protocol, the same over HTTP and native messaging (version 1).

    GET  /v1/status        -> {"protocol": 1, "version": "0.1.0", "certificates": true}
    GET  /v1/certificates  -> {"certificates": [{"serial", "subject", "issuer", "not_after", "device_kind",
                                                 "device"}]}            (nothing secret)
    POST /v1/sign  {"certificate": SERIAL, "nonce": BASE64 of 32 bytes}
                           -> {"purpose": "web-login", "origin": ORIGIN, "certificate": BASE64 DER,
                               "signature": BASE64 DER SM2 signature}
    any refusal            -> {"error": CODE, "message": Chinese text} with an HTTP status

The page never chooses what is signed: the bridge builds ``LoginChallenge(WEB_LOGIN, origin, nonce)``
from the origin the browser reported and the service's nonce, and the assistant's own dialog (which
names the site and the certificate) asks the PIN. Sign requests are rate-limited per origin and served
one at a time; a few may wait, more are refused as busy.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

from app.bridge.rules import BridgeRules, RateLimiter, Refused
from gm.challenge import ChallengePurpose, InvalidNonce, LoginChallenge, decode_nonce

PROTOCOL_VERSION = 1
MAX_BODY = 4096  # a sign request is ~100 bytes
MAX_WAITING_SIGNS = 2  # besides the one whose dialog is open
SIGN_TIMEOUT_S = 120.0  # the dialog closes itself after this long without an answer


@dataclass(frozen=True)
class CertificateInfo:
    serial: str  # hex, upper case, as the service writes it
    subject: str
    issuer: str
    not_after: str  # YYYY-MM-DD
    device_kind: str  # "soft" | "hard"
    device: str  # the device's label as the tray shows it

    def to_json(self) -> Dict[str, str]:
        return {
            "serial": self.serial,
            "subject": self.subject,
            "issuer": self.issuer,
            "not_after": self.not_after,
            "device_kind": self.device_kind,
            "device": self.device,
        }


@dataclass(frozen=True)
class SignRequest:
    origin: str  # normalised, as the browser reported it
    serial: str
    nonce: bytes

    @property
    def challenge(self) -> LoginChallenge:
        return LoginChallenge(ChallengePurpose.WEB_LOGIN, self.origin, self.nonce)


@dataclass(frozen=True)
class SignResult:
    certificate: bytes  # DER of the signing certificate
    signature: bytes  # DER SM2Signature over challenge.to_be_signed()


class SignRefused(Exception):
    """The signing did not happen: cancelled, timed out, locked PIN, unknown certificate, device error."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


Signer = Callable[[SignRequest, float], SignResult]  # blocks its (bridge) thread until the user answered


@dataclass(frozen=True)
class Reply:
    status: int
    body: Dict[str, Any]
    origin: Optional[str] = None  # the allowed origin to name in CORS headers


def refusal(exc: Refused) -> Reply:
    return Reply(exc.status, {"error": exc.code, "message": exc.message})


class BridgeCore:
    """Turns one request (method, path, Host, Origin, body) into one reply; transports only carry them."""

    def __init__(
        self,
        rules: Callable[[], BridgeRules],
        certificates: Callable[[], Sequence[CertificateInfo]],
        signer: Signer,
        version: str,
        sign_timeout: float = SIGN_TIMEOUT_S,
    ) -> None:
        self.rules = rules
        self.certificates = certificates
        self.signer = signer
        self.version = version
        self.sign_timeout = sign_timeout
        self.requests = RateLimiter(120, 60.0)  # listing and status, per origin
        self.signs = RateLimiter(10, 60.0)  # dialogs a site may raise, per origin
        self._sign_lock = threading.Lock()
        self._waiting = 0
        self._waiting_lock = threading.Lock()

    def check(self, method: str, host: Optional[str], origin: Optional[str]) -> str:
        """Host and Origin rules for any request (also a CORS preflight); the allowed origin or Refused."""
        rules = self.rules()
        rules.check_host(host)
        allowed = rules.check_origin(origin)
        if method not in ("GET", "POST", "OPTIONS"):
            raise Refused(405, "method_not_allowed", "不支持的请求方法")
        return allowed

    def handle(self, method: str, path: str, host: Optional[str], origin: Optional[str], body: bytes) -> Reply:
        try:
            allowed = self.check(method, host, origin)
        except Refused as exc:
            return refusal(exc)
        try:
            return Reply(200, self._route(method, path, allowed, body), allowed)
        except Refused as exc:
            return Reply(exc.status, {"error": exc.code, "message": exc.message}, allowed)
        except SignRefused as exc:
            return Reply(exc.status, {"error": exc.code, "message": exc.message}, allowed)

    def _route(self, method: str, path: str, origin: str, body: bytes) -> Dict[str, Any]:
        route = (method, path.split("?", 1)[0])
        if route == ("GET", "/v1/status"):
            self._count(self.requests, origin)
            return {"protocol": PROTOCOL_VERSION, "version": self.version, "certificates": bool(self.certificates())}
        if route == ("GET", "/v1/certificates"):
            self._count(self.requests, origin)
            return {"certificates": [info.to_json() for info in self.certificates()]}
        if route == ("POST", "/v1/sign"):
            self._count(self.signs, origin)
            request = self._sign_request(origin, body)
            result = self._sign_in_turn(request)
            return {
                "purpose": ChallengePurpose.WEB_LOGIN.value,
                "origin": origin,
                "certificate": base64.b64encode(result.certificate).decode("ascii"),
                "signature": base64.b64encode(result.signature).decode("ascii"),
            }
        raise Refused(404, "not_found", "证书助手不提供此功能")

    @staticmethod
    def _count(limiter: RateLimiter, origin: str) -> None:
        if not limiter.allow(origin):
            raise Refused(429, "rate_limited", "请求过于频繁，请稍后再试")

    def _sign_request(self, origin: str, body: bytes) -> SignRequest:
        if len(body) > MAX_BODY:
            raise Refused(413, "too_large", "请求内容过长")
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise Refused(400, "bad_request", "请求内容不是有效的 JSON") from None
        if not isinstance(data, dict):
            raise Refused(400, "bad_request", "请求内容格式不正确")
        serial = data.get("certificate")
        if not isinstance(serial, str) or not serial or len(serial) > 64 or not _is_hex(serial):
            raise Refused(400, "bad_request", "请选择要登录的证书")
        try:
            nonce = decode_nonce(data.get("nonce"))
        except InvalidNonce as exc:
            raise Refused(400, "bad_nonce", str(exc)) from None
        if serial.upper() not in {info.serial for info in self.certificates()}:
            raise Refused(404, "unknown_certificate", "未找到所选证书，请插入证书设备后刷新页面重试")
        return SignRequest(origin, serial.upper(), nonce)

    def _sign_in_turn(self, request: SignRequest) -> SignResult:
        """One dialog at a time: later requests wait their turn (a few at most), then get their own."""
        with self._waiting_lock:
            if self._waiting > MAX_WAITING_SIGNS:
                raise Refused(429, "busy", "证书助手正在处理另一个签名请求，请完成后再试")
            self._waiting += 1
        try:
            if not self._sign_lock.acquire(timeout=self.sign_timeout):
                raise SignRefused("busy", "证书助手正在处理另一个签名请求，请完成后再试", 429)
            try:
                return self.signer(request, self.sign_timeout)
            finally:
                self._sign_lock.release()
        finally:
            with self._waiting_lock:
                self._waiting -= 1


def assistant_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("certassist")
    except PackageNotFoundError:
        return "dev"


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


def certificate_infos(entries: Sequence[Any], label: Callable[[Any], str]) -> List[CertificateInfo]:
    """What the bridge may tell a page about the tray's certificates (``app.entries.CertificateEntry``)."""
    return [
        CertificateInfo(
            serial=entry.serial,
            subject=entry.subject,
            issuer=entry.issuer,
            not_after=entry.not_after,
            device_kind=entry.device.info.kind.value,
            device=label(entry.device.info),
        )
        for entry in entries
    ]
