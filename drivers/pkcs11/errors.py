"""The one table that maps python-pkcs11 exceptions (each is one CKR_* value) to driver errors."""

from __future__ import annotations

from typing import Callable, Dict, Optional, Type

import pkcs11.exceptions as p11e

from drivers.errors import (
    DeviceError,
    DeviceRemoved,
    DriverError,
    NotLoggedIn,
    NotSupported,
    PinIncorrect,
    PinLengthInvalid,
    PinLocked,
)
from drivers.model import PinPolicy

# exception class -> (CKR name, factory(raw_code, admin, policy, retries_left))
Factory = Callable[[str, bool, PinPolicy, Optional[int]], DriverError]

_TABLE: Dict[Type[Exception], tuple[str, Factory]] = {
    p11e.PinIncorrect: ("CKR_PIN_INCORRECT", lambda c, a, _p, r: PinIncorrect(r, c, admin=a)),
    p11e.PinInvalid: ("CKR_PIN_INVALID", lambda c, _a, p, _r: PinLengthInvalid(p.min_length, p.max_length, c)),
    p11e.PinLenRange: ("CKR_PIN_LEN_RANGE", lambda c, _a, p, _r: PinLengthInvalid(p.min_length, p.max_length, c)),
    p11e.PinLocked: ("CKR_PIN_LOCKED", lambda c, a, _p, _r: PinLocked(c, admin=a)),
    p11e.UserNotLoggedIn: ("CKR_USER_NOT_LOGGED_IN", lambda c, _a, _p, _r: NotLoggedIn(c)),
    p11e.DeviceRemoved: ("CKR_DEVICE_REMOVED", lambda c, _a, _p, _r: DeviceRemoved(c)),
    p11e.TokenNotPresent: ("CKR_TOKEN_NOT_PRESENT", lambda c, _a, _p, _r: DeviceRemoved(c)),
    p11e.SessionClosed: ("CKR_SESSION_CLOSED", lambda c, _a, _p, _r: DeviceRemoved(c)),
    p11e.SessionHandleInvalid: ("CKR_SESSION_HANDLE_INVALID", lambda c, _a, _p, _r: DeviceRemoved(c)),
    p11e.SlotIDInvalid: ("CKR_SLOT_ID_INVALID", lambda c, _a, _p, _r: DeviceRemoved(c)),
    p11e.MechanismInvalid: ("CKR_MECHANISM_INVALID", lambda c, _a, _p, _r: NotSupported("this mechanism", c)),
    p11e.FunctionNotSupported: ("CKR_FUNCTION_NOT_SUPPORTED", lambda c, _a, _p, _r: NotSupported("this function", c)),
    p11e.TokenWriteProtected: (
        "CKR_TOKEN_WRITE_PROTECTED",
        lambda c, _a, _p, _r: DeviceError("the token is write-protected", c),
    ),
    p11e.DeviceMemory: ("CKR_DEVICE_MEMORY", lambda c, _a, _p, _r: DeviceError("the token is full", c)),
}


def map_error(exc: Exception, admin: bool, policy: PinPolicy, retries_left: Optional[int] = None) -> DriverError:
    for cls in type(exc).__mro__:
        entry = _TABLE.get(cls)
        if entry is not None:
            name, factory = entry
            return factory(name, admin, policy, retries_left)
    name = type(exc).__name__
    return DeviceError(f"the PKCS#11 module reported {name}", f"pkcs11:{name}")
