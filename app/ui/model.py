"""What the tray knows: settings, the service connection, who is logged in, and the certificates found.

Plain Python (no Qt): the GUI reads it on the GUI thread; the slow parts (``discover``, the client's
calls) run as jobs on worker threads and hand their results back to the GUI thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Callable, List, Optional, Sequence

from app.api_client import IssuingClient
from app.contract import Account, CertificateStatus, SessionInfo, SessionKind
from app.credentials import CredentialCache
from app.entries import CertificateEntry, Pending, scan_devices, soft_label_name
from app.messages import Message, message
from app.settings import ProxyMode, Settings, proxy_with_credentials
from drivers.base import Backend, Device
from drivers.model import DeviceKind
from drivers.registry import default_backends, discover
from drivers.skf.driver import SkfDevice


@dataclass
class Login:
    info: SessionInfo  # what the service said about this session (refreshed by 刷新 and after changes)
    client: IssuingClient
    entry: Optional[CertificateEntry] = None  # the certificate used for 证书登录

    @property
    def kind(self) -> SessionKind:
        return self.info.kind

    @property
    def account(self) -> Account:
        return self.info.account

    @property
    def certificate(self) -> Optional[CertificateStatus]:
        return self.info.certificate

    @property
    def username(self) -> str:
        return self.account.username


@dataclass
class Inventory:
    devices: List[Device] = field(default_factory=list)
    entries: List[CertificateEntry] = field(default_factory=list)
    problems: List[Message] = field(default_factory=list)  # devices or drivers that could not be read
    smartcard_service: bool = True  # False: the PC/SC service is not running (only USB keys need it)
    pending: List[Pending] = field(default_factory=list)  # interrupted issuances (证书签发 resumes them)

    def pending_of(self, username: str) -> Optional[Pending]:
        """An issuance of this account that a pulled key or the network interrupted (its container is named
        after the user, app.flows)."""
        return next((p for p in self.pending if p.container.startswith(f"{username}-")), None)

    def without(self, removed: Callable[[Device], bool]) -> Inventory:
        """This inventory less the devices ``removed`` names (a USB key pulled out), before the next scan."""
        return replace(
            self,
            devices=[d for d in self.devices if not removed(d)],
            entries=[e for e in self.entries if not removed(e.device)],
            pending=[p for p in self.pending if not removed(p.device)],
        )


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
        # Blocks a worker thread until the service can answer (the demo's embedded service starting).
        self.wait_for_service: Optional[Callable[[], None]] = None
        self.service_starting: Callable[[], bool] = lambda: False

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
        scanned = scan_devices(found.devices)
        entries, unreadable = scanned.entries, scanned.problems
        problems: List[Message] = []
        for name in found.problems:
            if name == "pcsc":  # no smart-card service: only a USB key user needs one (环境修复 says so)
                continue
            if name == "pkcs11":
                problems.append(message("部分USB Key驱动程序无法加载，请运行「环境修复」查看详情"))
            else:
                problems.append(message("证书设备类型 {backend} 无法使用，请运行「环境修复」查看详情", backend=name))
        for device, _error in unreadable:
            if device.info.kind is DeviceKind.SOFT:
                problems.append(
                    message(
                        "无法读取软证书「{name}」：请运行「环境修复」查看详情",
                        name=soft_label_name(device.info.label),
                    )
                )
            else:
                problems.append(
                    message(
                        "无法读取证书设备「{label}」：请重新插入后点击「刷新」，或运行「环境修复」查看详情",
                        label=device.info.label,
                    )
                )
        return Inventory(
            found.devices, entries, problems, smartcard_service="pcsc" not in found.problems, pending=scanned.pending
        )

    def forget_device(self, library: str, name: str) -> bool:
        """A USB key its SKF library reported removed: gone from the inventory at once (the scan that follows
        confirms it). True when the inventory changed."""

        def removed(device: Device) -> bool:
            return isinstance(device, SkfDevice) and device.library.path == library and device.skf.name == name

        if not any(removed(d) for d in self.inventory.devices):
            return False
        self.inventory = self.inventory.without(removed)
        return True

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
            wait_ready=self.wait_for_service,
        )

    def logged_in_as(self, kind: SessionKind) -> bool:
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
