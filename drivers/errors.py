"""Typed token errors. Each carries the raw vendor/internal code for diagnostics (never a secret).

Drivers map their native codes (CKR_*, ISO 7816 status words, keystore conditions) to these through
one table per driver; callers never see a bare integer.
"""

from __future__ import annotations

from typing import Optional, Union

from drivers.model import PinWeakness

RawCode = Union[int, str, None]


class DriverError(Exception):
    """Base class. ``raw_code`` is the backend's own code (e.g. ``CKR_PIN_INCORRECT`` or ``0x63C2``)."""

    def __init__(self, message: str, raw_code: RawCode = None) -> None:
        super().__init__(message)
        self.raw_code = raw_code

    @property
    def raw_code_text(self) -> str:
        code = self.raw_code
        if code is None:
            return "-"
        if isinstance(code, int):
            return f"0x{code:08X}" if code > 0xFFFF else f"0x{code:04X}"  # SKF SAR_* codes are 32-bit
        return str(code)


class PinIncorrect(DriverError):
    def __init__(self, retries_left: Optional[int], raw_code: RawCode = None, admin: bool = False) -> None:
        who = "admin credential" if admin else "PIN"
        left = "unknown" if retries_left is None else str(retries_left)
        super().__init__(f"wrong {who}; {left} tries left", raw_code)
        self.retries_left = retries_left
        self.admin = admin


class PinLocked(DriverError):
    def __init__(self, raw_code: RawCode = None, admin: bool = False) -> None:
        who = "admin credential" if admin else "PIN"
        hint = "" if admin else "; unlock it with 证书解锁 (a mailed unlock code) or the admin credential"
        super().__init__(f"the {who} is locked after too many wrong tries{hint}", raw_code)
        self.admin = admin


class PinLengthInvalid(DriverError):
    def __init__(self, min_length: int, max_length: int, raw_code: RawCode = None) -> None:
        super().__init__(f"a PIN must be {min_length}-{max_length} characters", raw_code)
        self.min_length = min_length
        self.max_length = max_length


class PinMismatch(DriverError):
    """The new PIN and its confirmation differ (checked before any device call)."""

    def __init__(self) -> None:
        super().__init__("the new PIN and its confirmation differ")


class PinTooWeak(DriverError):
    """A new PIN that is one of the weakest (checked before any device call); existing PINs keep working."""

    def __init__(self, reason: PinWeakness) -> None:
        what = {
            PinWeakness.REPEATED: "one character or a block repeated",
            PinWeakness.SEQUENCE: "an ascending or descending run",
            PinWeakness.COMMON: "one of the most common PINs",
        }[reason]
        super().__init__(
            f"the new PIN is too easy to guess ({what}); choose one without repeats, runs such as 123456 or "
            "654321, or common PINs"
        )
        self.reason = reason


class NotLoggedIn(DriverError):
    def __init__(self, raw_code: RawCode = None) -> None:
        super().__init__("log in with the PIN first", raw_code)


class DeviceRemoved(DriverError):
    def __init__(self, raw_code: RawCode = None) -> None:
        super().__init__("the device was removed; insert it again and retry", raw_code)


class NotSupported(DriverError):
    def __init__(self, what: str, raw_code: RawCode = None) -> None:
        super().__init__(f"this device does not support {what}", raw_code)
        self.what = what


class DriverUnavailable(DriverError):
    """A backend cannot run at all (service stopped, module missing); ``hint`` says how to fix it."""

    def __init__(self, message: str, hint: str, raw_code: RawCode = None) -> None:
        super().__init__(f"{message}. {hint}", raw_code)
        self.hint = hint


class NotFound(DriverError):
    """A device, container, key or certificate that was asked for does not exist."""


class AlreadyExists(DriverError):
    pass


class KeyMismatch(DriverError):
    """A certificate (or an issued pair) is not for the key it was meant for; nothing was written."""

    def __init__(self, message: str, raw_code: RawCode = "key_mismatch") -> None:
        super().__init__(message, raw_code)


class KeystoreCorrupted(DriverError):
    """A soft keystore file is unreadable or fails its integrity check (nothing is overwritten)."""


class KeystoreTampered(KeystoreCorrupted):
    """A soft keystore file was changed outside CertAssist: edited (its MAC fails) or replaced by an
    earlier copy (``rolled_back``), which could otherwise restore spent PIN tries or an old PIN."""

    def __init__(self, message: str, rolled_back: bool = False) -> None:
        super().__init__(message, "rolled_back" if rolled_back else "mac_mismatch")
        self.rolled_back = rolled_back


class DeviceError(DriverError):
    """Anything else the backend reported; the raw code says what."""
