"""What is on the devices: the certificate list's entries and interrupted issuances (证书列表, 证书登录)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from app.contract import CertificateUsage
from drivers.base import Device, KeyDevice
from drivers.errors import DriverError
from drivers.model import KeyUsage
from gm.x509 import Certificate

SOFT_LABEL_PREFIX = "软证书 "  # a soft keystore's label: this prefix and the account's user name


def soft_label_name(label: str) -> str:
    """The user name in a soft keystore's label (the label itself for other labels)."""
    return label[len(SOFT_LABEL_PREFIX) :] if label.startswith(SOFT_LABEL_PREFIX) else label


@dataclass(frozen=True)
class CertificateEntry:
    """One line of the certificate list (证书登录 / 证书列表): a container holding a signing certificate."""

    device: KeyDevice
    container: str
    sign: Certificate
    encryption: Optional[Certificate]

    @property
    def subject(self) -> str:  # 证书使用者
        return self.sign.common_name or self.sign.subject_text

    @property
    def issuer(self) -> str:  # 颁发者
        return self.sign.issuer_text

    @property
    def not_after(self) -> str:  # 截止日期
        return f"{self.sign.not_after:%Y-%m-%d}"

    @property
    def days_left(self) -> int:
        return self.sign.days_left()

    @property
    def serial(self) -> str:  # as the service writes it: hex, upper case
        return f"{self.sign.serial_number:X}"

    def certificate(self, usage: CertificateUsage) -> Optional[Certificate]:
        return self.sign if usage is CertificateUsage.SIGN else self.encryption


@dataclass(frozen=True)
class Pending:
    """A container whose signing key has no certificate yet: an issuance the network or a pulled key interrupted."""

    device: KeyDevice
    container: str


@dataclass
class Scan:
    entries: List[CertificateEntry]
    pending: List[Pending]
    problems: List[Tuple[Device, DriverError]]  # devices that could not be read, with why


def scan_devices(devices: List[Device]) -> Scan:
    """Every signing certificate (newest first) and every interrupted issuance on every device."""
    found = Scan([], [], [])
    for device in devices:
        if not isinstance(device, KeyDevice):  # e.g. a PC/SC card whose PIN alone we manage
            continue
        try:
            with device.open() as session:
                for info in session.containers():
                    if not info.has_sign_certificate:
                        if info.has_sign_key:
                            found.pending.append(Pending(device, info.name))
                        continue
                    sign = session.read_certificate(info.name, KeyUsage.SIGN)
                    if sign is None:
                        continue
                    encryption = session.read_certificate(info.name, KeyUsage.ENCRYPT)
                    found.entries.append(CertificateEntry(device, info.name, sign, encryption))
        except DriverError as exc:
            found.problems.append((device, exc))
    found.entries.sort(key=lambda e: e.sign.not_after, reverse=True)
    return found


def list_certificates(devices: List[Device]) -> Tuple[List[CertificateEntry], List[Tuple[Device, DriverError]]]:
    """Every signing certificate on every device, and the devices that could not be read (with why)."""
    found = scan_devices(devices)
    return found.entries, found.problems
