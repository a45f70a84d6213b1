"""What a PIN dialog shows before the user types: the tries left, and whether the device is still on its factory PIN.

Read on a worker thread (a device call can take a second); the tray shows 剩余 N 次, asks for confirmation before the
last try, sends a locked PIN straight to 证书解锁, and asks a key still on its factory PIN to change it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from drivers.base import Device
from drivers.errors import DeviceRemoved, DriverError
from drivers.model import DeviceInfo, DeviceKind
from drivers.pins import is_factory_pin

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PinStatus:
    remaining: Optional[int] = None  # None: the device does not tell
    max_retries: Optional[int] = None
    locked: bool = False
    low: bool = False  # the device warns that few tries remain (PKCS#11 COUNT_LOW)
    factory_default: Optional[bool] = None  # the device says its PIN is still the factory one (SKF); None: unknown

    @property
    def last_try(self) -> bool:
        return self.remaining == 1

    def after_wrong(self, retries_left: Optional[int]) -> PinStatus:
        """The status after a wrong PIN the device answered with ``retries_left``."""
        low = self.low or (retries_left is not None and retries_left <= 3)
        return PinStatus(retries_left, self.max_retries, retries_left == 0, low, self.factory_default)


def read_pin_status(device: Device) -> PinStatus:
    """The user PIN's status (worker thread). A removed device raises; a device that cannot tell gives an empty
    status (the dialog then shows no count)."""
    try:
        with device.open() as session:
            info = session.pin_info()
            try:
                default = session.pin_is_default()
            except DriverError as exc:
                if isinstance(exc, DeviceRemoved):
                    raise
                default = None
    except DeviceRemoved:
        raise
    except DriverError as exc:
        log.info("PIN status of %s unknown: %s", device.info.backend, type(exc).__name__)
        return PinStatus()
    return PinStatus(info.remaining, info.max_retries, info.locked, info.low, default)


def on_factory_pin(info: DeviceInfo, status: PinStatus, pin: str) -> bool:
    """Whether a PIN that just worked is a USB key's factory PIN: the key says so, or (when it cannot tell) the PIN
    is its profile's factory PIN or a common vendor default. Soft certificates have no factory PIN."""
    if info.kind is not DeviceKind.HARD:
        return False
    if status.factory_default is not None:
        return status.factory_default
    return is_factory_pin(pin, info.pin_policy)
