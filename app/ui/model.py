"""What the tray knows: settings, the service connection, who is logged in, and the certificates found.

Plain Python (no Qt): the GUI reads it on the GUI thread; the slow parts (``discover``, the client's
calls) run as jobs on worker threads and hand their results back to the GUI thread.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from app.api_client import IssuingClient
from app.credentials import CredentialCache
from app.flows import CertificateEntry, list_certificates
from app.settings import ProxyMode, Settings, proxy_with_credentials
from drivers.base import Backend, Device
from drivers.registry import default_backends, discover


class LoginKind(str, enum.Enum):
    ACCOUNT = "account"  # 账号登录: 证书签发 / 证书换发
    CERTIFICATE = "certificate"  # 证书登录: 证书更新 / 证书废除 / 修改PIN码


@dataclass
class Login:
    kind: LoginKind
    account: Dict[str, Any]  # the service's AccountOut
    client: IssuingClient
    entry: Optional[CertificateEntry] = None  # the certificate used for 证书登录

    @property
    def username(self) -> str:
        return str(self.account["username"])


@dataclass
class Inventory:
    devices: List[Device] = field(default_factory=list)
    entries: List[CertificateEntry] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)


class AppModel:
    def __init__(
        self,
        settings: Optional[Settings] = None,
        credentials: Optional[CredentialCache] = None,
        backends: Optional[Sequence[Backend]] = None,
    ) -> None:
        self.settings = settings or Settings.load()
        self.credentials = credentials or CredentialCache()
        self._backends = list(backends) if backends is not None else None
        self._explicit_backends = backends is not None
        self._backends_lock = threading.Lock()
        self.inventory = Inventory()
        self.login: Optional[Login] = None

    # -- devices (worker threads) ------------------------------------------------------------
    def backends(self) -> List[Backend]:
        with self._backends_lock:
            if self._backends is None:
                self._backends = default_backends(
                    self.settings.all_pkcs11_modules([]), skf_modules=self.settings.all_skf_modules([])
                )
            return self._backends

    def reset_backends(self) -> None:
        """After the PKCS#11 module list changed (设置, 环境修复)."""
        with self._backends_lock:
            if not self._explicit_backends:
                self._backends = None

    def scan(self) -> Inventory:
        found = discover(self.backends())
        entries, unreadable = list_certificates(found.devices)
        problems = [f"{name}: {text}" for name, text in found.problems.items()] + unreadable
        return Inventory(found.devices, entries, problems)

    def device_ids(self) -> List[str]:
        return sorted(d.info.device_id for d in discover(self.backends()).devices)

    # -- service ---------------------------------------------------------------------------
    def service_url(self) -> str:
        return self.settings.effective_service_url()

    def proxy(self) -> Optional[str]:
        settings = self.settings
        if settings.proxy_mode != ProxyMode.HTTP.value or not settings.proxy_url:
            return None
        password = self.credentials.proxy_password(settings.proxy_url, settings.proxy_username)
        return proxy_with_credentials(settings.proxy_url, settings.proxy_username, password)

    def new_client(self, timeout: float = 30.0) -> IssuingClient:
        return IssuingClient(
            self.service_url(),
            proxy=self.proxy(),
            timeout=timeout,
            system_proxy=self.settings.proxy_mode == ProxyMode.SYSTEM.value,
        )

    def logged_in_as(self, kind: LoginKind) -> bool:
        return self.login is not None and self.login.kind == kind

    def set_login(self, login: Optional[Login]) -> None:
        old, self.login = self.login, login
        if old is not None and old is not login:
            old.client.close()
        if login is not None and login.client.token:
            self.credentials.set_session(self.service_url(), login.client.token)
        else:
            self.credentials.forget_session(self.service_url())

    def entry_after_refresh(self, entry: CertificateEntry) -> Optional[CertificateEntry]:
        """The same certificate in the current inventory (device objects are renewed by a refresh)."""
        for candidate in self.inventory.entries:
            if candidate.sign == entry.sign:
                return candidate
        return None
