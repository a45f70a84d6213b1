"""Issuing-service configuration: one dataclass, filled from CLI options and CERTASSIST_SERVER_* variables."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Union

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
    unlock_code_resend_s: int = 600  # a new 证书解锁 request mails a new code at most this often per certificate
    issuance_code_ttl_s: int = 14 * 86400  # the issuance code mailed with the approval (and on request)
    issuance_code_resend_s: int = 600  # the holder may ask for a new one this often
    # How long a process keeps using the active issuing CA (and CA chain) it read: a rotation by another process
    # (`certassist-server ca rotate`, another host) is used by this one within that time. 0: read every time.
    ca_cache_s: float = 5.0
    # Requests other than 证书签发 (which has its own issuing threads) run on a thread pool per worker
    # process. The work is CPU-bound and holds the GIL most of the time: a few threads keep the core busy
    # while one waits for the database, many just contend for the GIL (anyio's default of 40 threads was
    # ~25 % slower than 8 in benchmarks/issuance.py).
    threads: int = 8
    # Forwarding headers (X-Forwarded-For / Forwarded) are believed only from these proxy addresses (CIDRs,
    # e.g. "10.0.0.5/32"); none by default, so every client is known by the address it connects from.
    trusted_proxies: List[str] = field(default_factory=list)
    forwarded_header: str = "x-forwarded-for"  # or "forwarded" (RFC 7239): the one header the proxies write
    # Request limits (server.api.guards, server.api.transport): bodies over max_body_bytes get 413 before they
    # are read; a request's headers must arrive within header_timeout_s of its first byte (of the connection
    # for the first request) and its body within body_timeout_s of the headers.
    max_body_bytes: int = 64 * 1024
    header_timeout_s: float = 10.0
    body_timeout_s: float = 20.0
    # Housekeeping (server.housekeeping): expired captchas, nonces, unlock codes, sessions, rate-limit counters
    # and delivered mail are purged by whichever worker of whichever host runs it first in each period.
    housekeeping_interval_s: float = 300.0
    # Mail outbox (server.mail): a worker's claim on a mail lasts this long (longer than an SMTP send may
    # take: another worker delivers it after that if the first one died); failed sends retry with backoff.
    mail_claim_s: float = 120.0
    mail_poll_s: float = 2.0
    mail_retry_base_s: float = 5.0  # the first retry; each one after waits twice as long, at most an hour
    mail_keep_days: int = 7  # sent mail is purged after this many days (failed mail after four times that)
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


Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def parse_networks(cidrs: Iterable[str]) -> List[Network]:
    """``10.0.0.5``, ``10.0.0.0/24``, ``::1`` ...; ValueError names a bad one."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not an IP address or network: {cidr!r}") from exc
    return networks


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
