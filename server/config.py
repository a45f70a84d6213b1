"""Issuing-service configuration: one dataclass, filled from CLI options and CERTASSIST_SERVER_* variables."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from drivers.soft.driver import certassist_home


@dataclass
class MailConfig:
    mode: str = "outbox"  # "outbox" writes .eml files; "smtp" sends
    outbox_dir: Optional[Path] = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: str = "none"  # "none", "starttls", "ssl"
    smtp_user: Optional[str] = None
    smtp_password: Optional[str] = None
    sender: str = "证书助手 <noreply@certassist.invalid>"


@dataclass
class ServerConfig:
    data_dir: Path
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8470
    public_url: str = ""  # base URL clients and CRL users reach; defaults to http://host:port
    mail: MailConfig = field(default_factory=MailConfig)
    renewal_window_days: int = 30
    validity_days: int = 5 * 365
    crl_validity_hours: int = 24
    captcha_ttl_s: int = 300
    nonce_ttl_s: int = 120
    session_ttl_s: int = 1800
    unlock_code_ttl_s: int = 1800
    unlock_code_attempts: int = 5
    login_failures_before_lockout: int = 5
    lockout_minutes: int = 15
    # How long a process keeps using the active issuing CA (and CA chain) it read: a rotation by another process
    # (`certassist-server ca rotate`, another host) is used by this one within that time. 0: read every time.
    ca_cache_s: float = 5.0
    # Requests other than 证书签发 (which has its own issuing threads) run on a thread pool per worker
    # process. The work is CPU-bound and holds the GIL most of the time: a few threads keep the core busy
    # while one waits for the database, many just contend for the GIL (anyio's default of 40 threads was
    # ~25 % slower than 8 in benchmarks/issuance.py).
    threads: int = 8
    # The web portal (server.portal): origins its pages are served from besides the public URL's (a web
    # certificate login is accepted only for a signature made for one of these), and the loopback port of
    # the assistant's browser bridge that its login page calls.
    portal_origins: List[str] = field(default_factory=list)
    bridge_port: int = 8471

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'certassist.db'}"
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"
        if self.mail.outbox_dir is None:
            self.mail.outbox_dir = self.data_dir / "outbox"

    @property
    def crl_url(self) -> str:
        return f"{self.public_url.rstrip('/')}/crl/issuing.crl"


def default_data_dir() -> Path:
    override = os.environ.get("CERTASSIST_SERVER_DATA")
    return Path(override) if override else certassist_home() / "server"


def config_to_dict(config: ServerConfig) -> Dict[str, Any]:
    data = asdict(config)
    data["data_dir"] = str(config.data_dir)
    data["mail"]["outbox_dir"] = str(config.mail.outbox_dir) if config.mail.outbox_dir else None
    return data


def config_from_dict(data: Dict[str, Any]) -> ServerConfig:
    mail = MailConfig(
        **{**data["mail"], "outbox_dir": Path(data["mail"]["outbox_dir"]) if data["mail"]["outbox_dir"] else None}
    )
    return ServerConfig(**{**data, "data_dir": Path(data["data_dir"]), "mail": mail})
