"""SKF (GM/T 0016) backend: every device of every SKF library found, one session per opened application.

A session connects to the device (SKF_ConnectDev), opens its application (the profile's, else the only one) and
holds both handles until closed. Login state is the application's security state (SKF_VerifyPIN /
SKF_ClearSecureState). Every error is mapped by drivers.skf.errors; an error on a device that is no longer present
becomes DeviceRemoved.
"""

from __future__ import annotations

import contextlib
import sys
from ctypes import byref, create_string_buffer
from typing import Any, Optional, Tuple

from drivers.base import KeyDevice, check_new_pin, check_pin_format, serialized
from drivers.errors import DeviceError, DeviceRemoved, DriverError, NotLoggedIn, NotSupported
from drivers.model import DeviceInfo, DeviceKind, PinInfo, PinPolicy
from drivers.profiles import TokenProfile
from drivers.skf.api import (
    ADMIN_TYPE,
    BOOL,
    DEV_ABSENT_STATE,
    HANDLE,
    ULONG,
    USER_TYPE,
    Sar,
    SgdFamily,
)
from drivers.skf.device import (
    SkfDeviceInfo,
    capabilities,
    decode,
    decrypt_form,
    default_encoding,
    sgd_family,
)
from drivers.skf.errors import Context, map_error
from drivers.skf.keys import SkfKeySession
from drivers.skf.library import SkfLibrary

# Without a profile: the app's bounds (6-20). A narrower key refuses a new PIN with SAR_PIN_LEN_RANGE (no try
# spent); a narrower default here could refuse a key's own valid PIN before the key is even asked.
DEFAULT_SKF_POLICY = PinPolicy()


class SkfDevice(KeyDevice):
    def __init__(
        self, library: SkfLibrary, info: SkfDeviceInfo, profile: Optional[TokenProfile], platform: str = sys.platform
    ) -> None:
        policy = profile.pin_policy if profile is not None and profile.pin_policy else DEFAULT_SKF_POLICY
        vendor = profile.vendor if profile is not None else "SKF (GM/T 0016) device"
        super().__init__(
            DeviceInfo(
                backend="skf",
                device_id=f"skf:{library.path}:{info.serial or info.name}",
                kind=DeviceKind.HARD,
                label=info.label or info.name,
                serial=info.serial or info.name,
                manufacturer=info.manufacturer,
                model=vendor,
                capabilities=capabilities(library, info, profile),
                pin_policy=policy,
                detail=f"{library.path} device {info.name}" + (f" profile {profile.id}" if profile else ""),
            )
        )
        self.library = library
        self.skf = info
        self.profile = profile
        self.encoding = default_encoding(profile, platform)
        self.family: SgdFamily = sgd_family(profile, info)
        self.decrypt_form = decrypt_form(profile)

    def decode(self, raw: bytes) -> str:
        return decode(raw, self.encoding)

    def is_removed(self) -> bool:
        """Whether the library no longer sees this device (SKF_GetDevState, else SKF_EnumDev)."""
        try:
            if self.library.has("SKF_GetDevState"):
                state = ULONG(1)
                if self.library.call("SKF_GetDevState", self.skf.raw_name, byref(state)) == Sar.SAR_OK:
                    return state.value == DEV_ABSENT_STATE
            return self.skf.raw_name not in self.library.read_names("SKF_EnumDev", 1)
        except DriverError:
            return False

    def open(self) -> SkfSession:
        return SkfSession(self)


class SkfSession(SkfKeySession):
    """One application of one SKF device: PINs here, containers, keys and certificates in SkfKeySession."""

    device: SkfDevice

    def __init__(self, device: SkfDevice) -> None:
        super().__init__(device)
        self._dev = HANDLE()
        self._app = HANDLE()
        self._logged_in = False
        self._closed = False
        with device.op_lock:
            self._check("SKF_ConnectDev", device.skf.raw_name, byref(self._dev))
            try:
                self.application = self._choose_application()
                self._check(
                    "SKF_OpenApplication",
                    self._dev,
                    self._encode(self.application, "application name"),
                    byref(self._app),
                    context=Context(what=f"application {self.application!r}"),
                )
            except BaseException:
                with contextlib.suppress(DriverError):
                    device.library.call("SKF_DisConnectDev", self._dev)
                raise

    @property
    def _skf(self) -> SkfDevice:
        return self.device

    def _choose_application(self) -> str:
        names = [self.device.decode(n) for n in self.device.library.read_names("SKF_EnumApplication", self._dev)]
        skf = self.device.profile.skf if self.device.profile is not None else None
        if skf is not None and skf.application in names:
            return skf.application
        if not names:
            raise NotSupported("a key without an application (initialise it with its vendor's tool first)")
        return names[0]

    # -- plumbing ----------------------------------------------------------------------------
    def _context(self, admin: bool = False, retries: Optional[int] = None, what: str = "") -> Context:
        return Context(admin=admin, retries=retries, policy=self.policy, what=what)

    def _raise(self, code: int, context: Optional[Context]) -> None:
        error = map_error(code, context or self._context())
        if isinstance(error, DeviceError) and not isinstance(error, DeviceRemoved) and self.device.is_removed():
            raise DeviceRemoved(code)
        raise error

    def _check(self, name: str, *args: Any, context: Optional[Context] = None) -> None:
        if self._closed:
            raise ValueError("this session is closed")
        code = self.device.library.call(name, *args)
        if code != Sar.SAR_OK:
            self._raise(code, context)

    def _read(self, name: str, *args: Any, context: Optional[Context] = None) -> bytes:
        try:
            return self.device.library.read_buffer(name, *args, context=context or self._context())
        except DeviceError as exc:
            if not isinstance(exc, DeviceRemoved) and self.device.is_removed():
                raise DeviceRemoved(exc.raw_code) from exc
            raise

    def _application(self) -> HANDLE:
        if self._closed:
            raise ValueError("this session is closed")
        return self._app

    def _need_login(self) -> None:
        if not self._logged_in:
            raise NotLoggedIn("SAR_USER_NOT_LOGGED_IN")

    def _encode(self, text: str, what: str) -> bytes:
        try:
            return text.encode(self.device.encoding)
        except UnicodeEncodeError as exc:
            raise ValueError(f"the {what} has characters this key cannot take ({self.device.encoding})") from exc

    def _pin(self, pin: str) -> bytes:
        raw = self._encode(pin, "PIN")
        if b"\0" in raw:
            raise ValueError("a PIN cannot contain a NUL character")
        return raw

    # -- lifecycle and PINs ------------------------------------------------------------------
    @serialized
    def close(self) -> None:
        if self._closed:
            return
        library = self.device.library
        with contextlib.suppress(DriverError):
            if self._logged_in:
                library.call("SKF_ClearSecureState", self._app)
            library.call("SKF_CloseApplication", self._app)
            library.call("SKF_DisConnectDev", self._dev)
        self._logged_in = False
        self._closed = True

    @property
    def logged_in(self) -> bool:
        return self._logged_in and not self._closed

    def _pin_counts(self, admin: bool) -> Tuple[int, int, bool]:
        maximum, remaining, default = ULONG(0), ULONG(0), BOOL(0)
        self._check(
            "SKF_GetPINInfo",
            self._app,
            ADMIN_TYPE if admin else USER_TYPE,
            byref(maximum),
            byref(remaining),
            byref(default),
            context=self._context(admin),
        )
        return int(maximum.value), int(remaining.value), bool(default.value)

    @serialized
    def pin_info(self, admin: bool = False) -> PinInfo:
        maximum, remaining, _default = self._pin_counts(admin)
        return PinInfo(
            max_retries=maximum or None,
            remaining=remaining,
            locked=remaining == 0,
            low=0 < remaining < maximum and remaining <= 3,
        )

    @serialized
    def pin_is_default(self, admin: bool = False) -> bool:
        """The key says its PIN is still the factory default (SKF_GetPINInfo's pbDefaultPin)."""
        return self._pin_counts(admin)[2]

    @serialized
    def login(self, pin: str) -> None:
        check_pin_format(pin, self.policy)
        raw = self._pin(pin)
        self.logout()  # a stale security state must not stand in for this PIN
        retries = ULONG(0)
        code = self.device.library.call("SKF_VerifyPIN", self._app, USER_TYPE, raw, byref(retries))
        if code != Sar.SAR_OK:
            self._raise(code, self._context(retries=int(retries.value)))
        self._logged_in = True

    @serialized
    def logout(self) -> None:
        self._logged_in = False
        if self.device.library.has("SKF_ClearSecureState"):
            self._check("SKF_ClearSecureState", self._app)

    def _change(self, admin: bool, old: str, new: str) -> None:
        retries = ULONG(0)
        code = self.device.library.call(
            "SKF_ChangePIN",
            self._app,
            ADMIN_TYPE if admin else USER_TYPE,
            self._pin(old),
            self._pin(new),
            byref(retries),
        )
        if code != Sar.SAR_OK:
            self._raise(code, self._context(admin, int(retries.value)))

    @serialized
    def change_pin(self, old_pin: str, new_pin: str) -> None:
        check_pin_format(old_pin, self.policy)
        check_new_pin(new_pin, None, self.policy)
        self._change(False, old_pin, new_pin)

    @serialized
    def unblock_pin(self, admin_credential: str, new_pin: str) -> None:
        """SKF_UnblockPIN: the admin PIN sets a new user PIN and restores its tries."""
        check_new_pin(new_pin, None, self.policy)
        retries = ULONG(0)
        code = self.device.library.call(
            "SKF_UnblockPIN", self._app, self._pin(admin_credential), self._pin(new_pin), byref(retries)
        )
        if code != Sar.SAR_OK:
            self._raise(code, self._context(True, int(retries.value)))

    def admin_default(self) -> Optional[str]:
        skf = self.device.profile.skf if self.device.profile is not None else None
        return skf.admin_pin_default if skf is not None else None

    @serialized
    def rotate_admin_credential(self, current: Optional[str] = None, new: Optional[str] = None) -> str:
        """A fresh admin PIN (``new``, else a random one) to escrow at the issuing service. Without ``current`` the
        profile's documented vendor default is tried, once: an admin PIN locks too, so it is never guessed."""
        current = current or self.admin_default()
        if not current:
            raise ValueError("the key's current admin PIN is needed to replace it (its profile names no default)")
        new = new or self.new_admin_credential()
        check_pin_format(new, self.policy)
        self._change(True, current, new)
        return new

    @serialized
    def random(self, length: int) -> bytes:
        """SKF_GenRandom from the key's generator."""
        if not 0 < length <= 4096:
            raise ValueError("ask for 1-4096 random bytes")
        out = create_string_buffer(length)
        self._check("SKF_GenRandom", self._dev, out, length)
        return out.raw
