"""Who the bridge answers: the Host it must be addressed as, the page origins it serves, and how often.

- ``Host`` must be the bridge's own loopback address and port (``127.0.0.1:PORT`` or ``localhost:PORT``):
  a page of a rebound DNS name (``evil.example`` resolving to 127.0.0.1) sends its own name and is refused.
- ``Origin`` must be present and be one of the configured origins: the service URL's origin plus the
  settings' explicit allowlist, each normalised as ``gm.challenge.service_origin`` does (https, or http
  on loopback only). A page cannot forge its Origin; a local program can, but could as well read the
  keystore itself (see the README's security model).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Deque, Dict, FrozenSet, Iterable, Optional, Tuple

from gm.challenge import InvalidOrigin, service_origin

LOOPBACK_NAMES = ("127.0.0.1", "localhost")


class Refused(Exception):
    """A request the bridge does not serve: HTTP status, a stable code and a Chinese message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def normalised_origins(service_url: str, extra: Iterable[str]) -> FrozenSet[str]:
    """The service URL's origin and each allowlisted one; entries that are no valid origin are left out
    (the settings dialog refuses them when they are typed; ``check_origin_entry`` says why)."""
    found = set()
    for url in (service_url, *extra):
        try:
            found.add(service_origin(url.strip()))
        except (InvalidOrigin, AttributeError):
            continue
    return frozenset(found)


def check_origin_entry(text: str) -> str:
    """One allowlist entry as typed in 设置: the normalised origin, or ValueError with the fix."""
    try:
        origin = service_origin(text.strip())
    except InvalidOrigin as exc:
        raise ValueError(f"{text.strip()}：{exc}") from None
    if text.strip().rstrip("/") not in (origin, *_with_default_port(origin)):
        raise ValueError(f"{text.strip()}：只填写网站的来源（协议、主机和端口），例如 {origin}")
    return origin


def _with_default_port(origin: str) -> Tuple[str, ...]:
    scheme = origin.split(":", 1)[0]
    return (f"{origin}:{443 if scheme == 'https' else 80}",)


@dataclass(frozen=True)
class BridgeRules:
    port: int
    origins: FrozenSet[str]

    def check_host(self, host: Optional[str]) -> None:
        allowed = {f"{name}:{self.port}" for name in LOOPBACK_NAMES}
        if host is None or host.strip().lower() not in allowed:
            raise Refused(403, "forbidden_host", "请求的主机名不是证书助手的本机地址，已拒绝")

    def check_origin(self, origin: Optional[str]) -> str:
        """The page's normalised origin when it is allowed; Refused otherwise (also for no Origin)."""
        if not origin or origin == "null":
            raise Refused(403, "forbidden_origin", "请求没有来源网站，已拒绝")
        try:
            normal = service_origin(origin)
        except InvalidOrigin:
            raise Refused(403, "forbidden_origin", "请求来源网站的地址无效，已拒绝") from None
        if normal not in self.origins:
            raise Refused(403, "forbidden_origin", f"网站 {normal} 不在证书助手允许的网站列表中，已拒绝")
        return normal


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds for each key (thread-safe, sliding window)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: Dict[str, Deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self._clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and now - events[0] >= self.window:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True
