"""The one table from ISO 7816 status words (and PC/SC failures) to driver errors."""

from __future__ import annotations

from typing import Callable, Dict

from drivers.errors import (
    DeviceError,
    DriverError,
    DriverUnavailable,
    NotFound,
    NotLoggedIn,
    NotSupported,
    PinIncorrect,
    PinLengthInvalid,
    PinLocked,
)
from drivers.model import PinPolicy

PCSC_SERVICE_HINT = (
    "start the smart card service: Windows `sc start SCardSvr` (service 'Smart Card'), "
    "Linux `systemctl start pcscd` (package pcscd), macOS is built in; then click 刷新"
)

_EXACT: Dict[int, Callable[[int, bool, PinPolicy], DriverError]] = {
    0x6983: lambda sw, admin, _p: PinLocked(sw, admin=admin),
    0x6984: lambda sw, admin, _p: PinLocked(sw, admin=admin),
    0x6700: lambda sw, _a, p: PinLengthInvalid(p.min_length, p.max_length, sw),
    0x6982: lambda sw, _a, _p: NotLoggedIn(sw),
    0x6A82: lambda sw, _a, _p: NotFound("the card has no such application or file", sw),
    0x6A88: lambda sw, _a, _p: NotFound("the card has no such PIN reference", sw),
    0x6D00: lambda sw, _a, _p: NotSupported("this command", sw),
    0x6E00: lambda sw, _a, _p: NotSupported("this command class", sw),
}


def map_status(sw: int, admin: bool, policy: PinPolicy) -> DriverError:
    if 0x63C0 <= sw <= 0x63CF:
        left = sw & 0x0F
        return PinLocked(sw, admin=admin) if left == 0 else PinIncorrect(left, sw, admin=admin)
    factory = _EXACT.get(sw)
    if factory is not None:
        return factory(sw, admin, policy)
    return DeviceError(f"the card answered status 0x{sw:04X}", sw)


def service_unavailable(detail: str) -> DriverUnavailable:
    return DriverUnavailable(f"the PC/SC smart card service is not available ({detail})", PCSC_SERVICE_HINT, "pcsc")
