"""Labelled login challenges: the only thing a certificate holder signs to log in.

A service never gets the holder's key to sign bytes of its choosing. The client builds this DER
structure itself from a fixed label, the purpose, the service origin *it* connected to (or, for a web
page, the origin the browser reported) and the service's fixed-length random nonce, and signs that with
SM2-with-SM3 (signer ID 1234567812345678). A login signature therefore cannot be mistaken for a
document signature (it always begins with the label), and a signature made for one site is useless to
another (the origin is inside it). The tray's certificate login and the browser bridge use the same
format; the service rebuilds it from its own origin and the nonce it issued, then verifies.

    LoginChallenge ::= SEQUENCE {
        label    UTF8String,   -- "CertAssist login challenge v1"
        purpose  UTF8String,   -- "tray-login" | "web-login"
        origin   IA5String,    -- "https://host[:port]", normalised (see service_origin)
        nonce    OCTET STRING  -- exactly 32 bytes from the service
    }
"""

from __future__ import annotations

import base64
import binascii
import enum
import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from asn1crypto import core

from gm.errors import EncodingError

LABEL = "CertAssist login challenge v1"
NONCE_SIZE = 32
MAX_ORIGIN_LENGTH = 255
_DEFAULT_PORTS = {"https": 443, "http": 80}


class ChallengePurpose(str, enum.Enum):
    TRAY_LOGIN = "tray-login"
    WEB_LOGIN = "web-login"


class InvalidOrigin(EncodingError):
    """A service URL or page origin that may not take part in a login (wrong form, or http off loopback)."""


class InvalidNonce(EncodingError):
    """The service's nonce is not exactly 32 bytes of Base64: refuse to sign anything for it."""


class _ChallengeStructure(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012 - asn1crypto declares structures as class-level lists
        ("label", core.UTF8String),
        ("purpose", core.UTF8String),
        ("origin", core.IA5String),
        ("nonce", core.OctetString),
    ]


def is_loopback_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def service_origin(url: str, allow_http_loopback: bool = True) -> str:
    """The normalised origin ``scheme://host[:port]`` of a service URL or a browser's Origin header.

    https only; http is accepted for loopback hosts when ``allow_http_loopback`` (a local demo or test
    service). Host lower-cased (IDNA for non-ASCII names), default port dropped. Raises InvalidOrigin.
    """
    if not isinstance(url, str) or not url or len(url) > 2048 or any(c.isspace() for c in url):
        raise InvalidOrigin("服务地址无效：应为 https://主机[:端口] 形式")
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise InvalidOrigin(f"服务地址无效：{exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not host or parts.username is not None or parts.password is not None:
        raise InvalidOrigin("服务地址无效：应为 https://主机[:端口] 形式")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidOrigin("服务地址的主机名无效") from None
    if scheme == "http" and not (allow_http_loopback and is_loopback_host(host)):
        raise InvalidOrigin(
            f"证书登录只能使用 https 连接（{host} 不是本机地址）；请在 设置 → 通用设置 中使用 https:// 服务地址"
        )
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    origin = f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"
    if len(origin) > MAX_ORIGIN_LENGTH:
        raise InvalidOrigin("服务地址过长")
    return origin


def decode_nonce(text: Any) -> bytes:
    """The service's nonce from its Base64 text; exactly NONCE_SIZE bytes or InvalidNonce."""
    if not isinstance(text, str) or len(text) > 4 * NONCE_SIZE:
        raise InvalidNonce("证书服务返回的登录挑战格式不正确，已拒绝签名")
    try:
        nonce = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidNonce("证书服务返回的登录挑战格式不正确，已拒绝签名") from None
    if len(nonce) != NONCE_SIZE:
        raise InvalidNonce("证书服务返回的登录挑战长度不正确，已拒绝签名")
    return nonce


@dataclass(frozen=True)
class LoginChallenge:
    """What one login signs. Construct it only from a checked origin and a checked nonce."""

    purpose: ChallengePurpose
    origin: str
    nonce: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.purpose, ChallengePurpose):
            raise ValueError("purpose must be a ChallengePurpose")
        if service_origin(self.origin) != self.origin:
            raise InvalidOrigin(f"origin is not normalised: {self.origin!r}")
        if not isinstance(self.nonce, bytes) or len(self.nonce) != NONCE_SIZE:
            raise InvalidNonce(f"a login nonce is exactly {NONCE_SIZE} bytes")

    @classmethod
    def for_service(cls, purpose: ChallengePurpose, url: str, nonce_b64: Any) -> LoginChallenge:
        """The challenge for a service URL and the nonce text the service sent (both checked)."""
        return cls(purpose, service_origin(url), decode_nonce(nonce_b64))

    def to_be_signed(self) -> bytes:
        """The DER bytes the holder signs (deterministic: the service rebuilds them to verify)."""
        structure = _ChallengeStructure(
            {"label": LABEL, "purpose": self.purpose.value, "origin": self.origin, "nonce": self.nonce}
        )
        return bytes(structure.dump(force=True))

    @classmethod
    def parse(cls, der: bytes) -> LoginChallenge:
        """Read a challenge back (diagnostics and tests); raises EncodingError for anything else."""
        try:
            structure = _ChallengeStructure.load(der, strict=True)
            label = structure["label"].native
            purpose = ChallengePurpose(structure["purpose"].native)
            origin = structure["origin"].native
            nonce = structure["nonce"].native
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise EncodingError(f"not a CertAssist login challenge: {exc}") from None
        if label != LABEL:
            raise EncodingError("not a CertAssist login challenge (label differs)")
        return cls(purpose, origin, nonce)
