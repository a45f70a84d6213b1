"""User settings stored as JSON in CERTASSIST_HOME (the tray's 设置 dialog edits the same file).

Secrets never go here: the proxy password and login sessions live in the OS keyring (app.credentials).
An administrator's machine defaults (Windows: the MSI's SERVICEURL, AUTOSTART and LANGUAGE) fill in what
a user has not set; a user's own value wins. A value equal to the machine default is not stored, so it
keeps following the machine default.
"""

from __future__ import annotations

import enum
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import quote, urlsplit

from app.messages import Message, message
from drivers.soft.driver import certassist_home
from drivers.soft.storage import atomic_write

ENV_PKCS11_MODULES = "CERTASSIST_PKCS11_MODULES"  # extra modules, separated by os.pathsep
ENV_SKF_MODULES = "CERTASSIST_SKF_MODULES"  # extra SKF (GM/T 0016) libraries, separated by os.pathsep
ENV_SERVICE_URL = "CERTASSIST_SERVICE_URL"
DEFAULT_SERVICE_URL = "http://127.0.0.1:8470"
ENV_BRIDGE_PORT = "CERTASSIST_BRIDGE_PORT"  # the browser bridge's loopback port (app.bridge)
DEFAULT_BRIDGE_PORT = 8471


class ProxyMode(str, enum.Enum):
    NONE = "none"  # 不使用代理
    SYSTEM = "system"  # 使用系统代理 (environment / OS settings)
    HTTP = "http"  # HTTP(S) 代理, optionally with a user name and a password kept in the keyring


class Language(str, enum.Enum):
    ZH_CN = "zh_CN"
    EN = "en"


@dataclass
class Settings:
    pkcs11_modules: List[str] = field(default_factory=list)
    service_url: str = DEFAULT_SERVICE_URL
    proxy_mode: str = ProxyMode.NONE.value
    proxy_url: str = ""  # http://host:port
    proxy_username: str = ""
    expiry_warning_days: int = 30
    language: str = Language.ZH_CN.value
    start_with_system: bool = False
    last_expiry_notice: str = ""  # ISO date of the last expiry notification (at most one a day)
    skf_modules: List[str] = field(default_factory=list)  # SKF libraries beyond the token profiles'
    bridge_port: int = DEFAULT_BRIDGE_PORT  # 浏览器证书登录 on 127.0.0.1 (0: off)
    bridge_origins: List[str] = field(default_factory=list)  # web sites besides the service's own origin

    @staticmethod
    def path() -> Path:
        return certassist_home() / "settings.json"

    @classmethod
    def load(cls) -> Settings:
        try:
            raw: Dict[str, Any] = json.loads(cls.path().read_text(encoding="utf-8"))
        except FileNotFoundError:
            raw = {}
        except (OSError, ValueError) as exc:
            raise ValueError(f"settings file {cls.path()} is unreadable ({exc}); fix or delete it") from exc
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**{**machine_defaults(), **known})

    def save(self) -> None:
        data = asdict(self)
        for key, value in machine_defaults().items():
            if data.get(key) == value:
                del data[key]  # follows the machine default
        self.path().parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path(), json.dumps(data, ensure_ascii=False, indent=1).encode(), mode=0o600)

    def all_pkcs11_modules(self, extra: List[str]) -> List[str]:
        from_env = [m for m in os.environ.get(ENV_PKCS11_MODULES, "").split(os.pathsep) if m]
        return [*extra, *from_env, *self.pkcs11_modules]

    def all_skf_modules(self, extra: List[str]) -> List[str]:
        from_env = [m for m in os.environ.get(ENV_SKF_MODULES, "").split(os.pathsep) if m]
        return [*extra, *from_env, *self.skf_modules]

    def effective_service_url(self) -> str:
        return os.environ.get(ENV_SERVICE_URL) or self.service_url

    def effective_bridge_port(self) -> int:
        """CERTASSIST_BRIDGE_PORT, else the setting; raises ValueError for a value that is not a port."""
        raw = os.environ.get(ENV_BRIDGE_PORT, "").strip()
        return check_bridge_port(raw) if raw else check_bridge_port(self.bridge_port)


def machine_defaults() -> Dict[str, Any]:
    """Settings fields the administrator set for every user of this computer (none outside Windows)."""
    from app.platform.windows import machine_values

    raw = machine_values()
    defaults: Dict[str, Any] = {}
    url = raw.get("ServiceUrl", "").strip().rstrip("/")
    if url.startswith(("http://", "https://")):
        defaults["service_url"] = url
    autostart = raw.get("AutoStart", "").strip()
    if autostart in ("0", "1"):
        defaults["start_with_system"] = autostart == "1"
    language = raw.get("Language", "").strip()
    if language in {item.value for item in Language}:
        defaults["language"] = language
    return defaults


def check_bridge_port(value: Any) -> int:
    """A loopback port for the browser bridge (0 turns it off); raises ValueError with the fix."""
    try:
        port = int(str(value).strip())
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ValueError(f"浏览器证书登录端口应为 1~65535 之间的数字（0 表示关闭），当前为：{value}")
    return port


class InvalidServiceUrl(ValueError):
    """A service URL the assistant will not use; ``text`` says why (translated where it is shown)."""

    def __init__(self, text: Message) -> None:
        super().__init__(str(text))
        self.text = text


def check_service_url(url: str) -> str:
    """The service URL as it is stored (no trailing slash); raises InvalidServiceUrl.

    https only, except plain http to this computer (the demo's embedded service on 127.0.0.1): over plain
    http anyone on the way could read and change what the assistant sends and receives.
    """
    from gm.challenge import InvalidOrigin, service_origin

    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InvalidServiceUrl(message("证书服务地址应以 https:// 开头，例如 https://ca.example.cn"))
    try:
        service_origin(url)
    except InvalidOrigin:
        raise InvalidServiceUrl(
            message("证书服务地址必须使用 https://（只有本机地址如 http://127.0.0.1 可以使用 http://），请改正后保存")
        ) from None
    return url


def check_proxy_url(url: str) -> str:
    """``http(s)://host:port`` without credentials (those are entered separately); raises ValueError."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("代理地址格式应为 http://主机:端口，例如 http://proxy.example.com:8080")
    if parts.username or parts.password:
        raise ValueError("请不要把用户名和密码写在代理地址里，请填写在下方的用户名和密码中")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        raise ValueError("代理地址缺少端口，例如 http://proxy.example.com:8080")
    return f"{parts.scheme}://{parts.hostname}:{port}"


def proxy_with_credentials(url: str, username: str, password: Optional[str]) -> str:
    if not username:
        return url
    parts = urlsplit(url)
    userinfo = quote(username, safe="") + (":" + quote(password, safe="") if password else "")
    return f"{parts.scheme}://{userinfo}@{parts.netloc}"
