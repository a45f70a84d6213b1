"""The one table that maps SKF return codes (SAR_*) to driver errors; the raw code is kept on every error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Optional

from drivers.errors import (
    AlreadyExists,
    DeviceError,
    DeviceRemoved,
    DriverError,
    NotFound,
    NotLoggedIn,
    NotSupported,
    PinIncorrect,
    PinLengthInvalid,
    PinLocked,
)
from drivers.model import PinPolicy
from drivers.skf.api import Sar, VendorSar, sar_name


@dataclass(frozen=True)
class Context:
    """What the failed call was about: an admin PIN?, the tries the library reported, the PIN bounds."""

    admin: bool = False
    retries: Optional[int] = None
    policy: PinPolicy = field(default_factory=PinPolicy)
    what: str = ""  # the object asked for, for NotFound / AlreadyExists messages


Factory = Callable[[int, Context], DriverError]


def _device(text: str) -> Factory:
    return lambda code, _c: DeviceError(f"the key reported {sar_name(code)}: {text}", code)


def _pin_incorrect(code: int, c: Context) -> DriverError:
    if c.retries == 0:  # the try that locked it: say locked, not "0 tries left"
        return PinLocked(code, admin=c.admin)
    return PinIncorrect(c.retries, code, admin=c.admin)


def _not_found(text: str) -> Factory:
    return lambda code, c: NotFound(f"{c.what or text} does not exist on this key", code)


def _exists(code: int, c: Context) -> DriverError:
    return AlreadyExists(f"{c.what or 'the object'} already exists on this key", code)


def _length(code: int, c: Context) -> DriverError:
    return PinLengthInvalid(c.policy.min_length, c.policy.max_length, code)


_TABLE: Dict[int, Factory] = {
    Sar.SAR_FAIL: _device("the operation failed"),
    Sar.SAR_UNKNOWNERR: _device("unknown error"),
    Sar.SAR_NOTSUPPORTYETERR: lambda code, c: NotSupported(c.what or "this operation", code),
    Sar.SAR_FILEERR: _device("the key's storage failed"),
    Sar.SAR_INVALIDHANDLEERR: _device("a handle is no longer valid (was the key pulled out?)"),
    Sar.SAR_INVALIDPARAMERR: _device("a parameter was refused"),
    Sar.SAR_READFILEERR: _device("reading the key's storage failed"),
    Sar.SAR_WRITEFILEERR: _device("writing the key's storage failed"),
    Sar.SAR_NAMELENERR: _device("a name is too long for this key"),
    Sar.SAR_KEYUSAGEERR: _device("the key may not be used this way"),
    Sar.SAR_MODULUSLENERR: _device("unsupported key length"),
    Sar.SAR_NOTINITIALIZEERR: _device("the key is not initialised"),
    Sar.SAR_OBJERR: _device("object error"),
    Sar.SAR_MEMORYERR: _device("out of memory"),
    Sar.SAR_TIMEOUTERR: _device("the key did not answer in time"),
    Sar.SAR_INDATALENERR: _device("input of the wrong length"),
    Sar.SAR_INDATAERR: _device("input refused (wrong key, damaged or foreign data)"),
    Sar.SAR_GENRANDERR: _device("random number generation failed"),
    Sar.SAR_HASHOBJERR: _device("hash object error"),
    Sar.SAR_HASHERR: _device("hash error"),
    Sar.SAR_GENRSAKEYERR: _device("RSA key generation failed"),
    Sar.SAR_RSAMODULUSLENERR: _device("unsupported RSA key length"),
    Sar.SAR_CSPIMPRTPUBKEYERR: _device("public key import failed"),
    Sar.SAR_RSAENCERR: _device("RSA encryption failed"),
    Sar.SAR_RSADECERR: _device("RSA decryption failed"),
    Sar.SAR_HASHNOTEQUALERR: _device("hash mismatch"),
    Sar.SAR_KEYNOTFOUNTERR: _not_found("the key pair"),
    Sar.SAR_CERTNOTFOUNTERR: _not_found("the certificate"),
    Sar.SAR_NOTEXPORTERR: _device("the object cannot be exported"),
    Sar.SAR_DECRYPTPADERR: _device("decryption padding error"),
    Sar.SAR_MACLENERR: _device("MAC length error"),
    Sar.SAR_BUFFER_TOO_SMALL: _device("a buffer was too small (the library changed its answer between two calls)"),
    Sar.SAR_KEYINFOTYPEERR: _device("wrong key type"),
    Sar.SAR_NOT_EVENTERR: _device("no device event"),
    Sar.SAR_DEVICE_REMOVED: lambda code, _c: DeviceRemoved(code),
    Sar.SAR_PIN_INCORRECT: _pin_incorrect,
    Sar.SAR_PIN_LOCKED: lambda code, c: PinLocked(code, admin=c.admin),
    Sar.SAR_PIN_INVALID: _length,
    Sar.SAR_PIN_LEN_RANGE: _length,
    Sar.SAR_USER_ALREADY_LOGGED_IN: _device("already logged in"),
    Sar.SAR_USER_PIN_NOT_INITIALIZED: _device("the user PIN is not set; initialise the key with its vendor's tool"),
    Sar.SAR_USER_TYPE_INVALID: _device("invalid PIN type"),
    Sar.SAR_APPLICATION_NAME_INVALID: _device("invalid application name"),
    Sar.SAR_APPLICATION_EXISTS: _exists,
    Sar.SAR_USER_NOT_LOGGED_IN: lambda code, _c: NotLoggedIn(code),
    Sar.SAR_APPLICATION_NOT_EXISTS: _not_found("the application"),
    Sar.SAR_FILE_ALREADY_EXIST: _exists,
    Sar.SAR_NO_ROOM: _device("the key is full"),
    Sar.SAR_FILE_NOT_EXIST: _not_found("the container or file"),
    Sar.SAR_REACH_MAX_CONTAINER_COUNT: _device("the key holds as many containers as it can; delete one first"),
    VendorSar.SAR_SECURITY_INVALID: lambda code, _c: NotLoggedIn(code),
    VendorSar.SAR_OFFSET_VOER_FILE: _device("offset past the end of a file"),
    VendorSar.SAR_CONTAINER_NOT_FOUND: _not_found("the container"),
    VendorSar.SAR_CONTAINER_EXIST: _exists,
    VendorSar.SAR_AUTH_LOCKED: _device("device authentication is locked"),
    VendorSar.SAR_ECCENCERR: _device("SM2 encryption failed"),
}


def map_error(code: int, context: Optional[Context] = None) -> DriverError:
    """The typed error for a non-zero SAR code (unknown vendor codes become DeviceError, raw code kept)."""
    context = context or Context()
    factory = _TABLE.get(code)
    if factory is None:
        return DeviceError(f"the key's library returned the unknown code 0x{code:08X}", code)
    return factory(code, context)


def table_codes() -> Dict[int, Factory]:
    """The table itself, for tests that check every SAR code has an entry."""
    return dict(_TABLE)
