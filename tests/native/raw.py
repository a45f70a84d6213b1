"""Direct calls into a soft SKF library for its own tests: raw SAR codes, no driver in between."""

from __future__ import annotations

import ctypes
from ctypes import byref, create_string_buffer
from typing import List, Tuple

from drivers.skf.api import (
    ECCPUBLICKEYBLOB,
    ECCSIGNATUREBLOB,
    HANDLE,
    ULONG,
    USER_TYPE,
    Sar,
    multi_string,
)
from drivers.skf.library import SkfLibrary
from tests.softskf import FIRST_DEVICE, USER_PIN

OK = Sar.SAR_OK


class Raw:
    def __init__(self, path: str) -> None:
        self.lib = SkfLibrary(path)

    def __call__(self, name: str, *args: object) -> int:
        return self.lib.call(name, *args)

    def ok(self, name: str, *args: object) -> None:
        code = self(name, *args)
        assert code == OK, f"{name} returned {Sar(code).name if code in Sar._value2member_map_ else hex(code)}"

    # -- the two-call pattern ----------------------------------------------------------------
    def names(self, name: str, *args: object) -> List[str]:
        size = ULONG(0)
        self.ok(name, *args, None, byref(size))
        buffer = create_string_buffer(size.value)
        self.ok(name, *args, buffer, byref(size))
        return [n.decode() for n in multi_string(buffer.raw[: size.value])]

    def devices(self) -> List[str]:
        return self.names("SKF_EnumDev", 1)

    # -- handles -----------------------------------------------------------------------------
    def connect(self, name: str = FIRST_DEVICE) -> HANDLE:
        dev = HANDLE()
        self.ok("SKF_ConnectDev", name.encode(), byref(dev))
        return dev

    def app(self, dev: HANDLE, name: str = "SOFTSKF") -> HANDLE:
        app = HANDLE()
        self.ok("SKF_OpenApplication", dev, name.encode(), byref(app))
        return app

    def logged_in_app(self, pin: str = USER_PIN) -> Tuple[HANDLE, HANDLE]:
        dev = self.connect()
        app = self.app(dev)
        self.ok("SKF_VerifyPIN", app, USER_TYPE, pin.encode(), byref(ULONG()))
        return dev, app

    def verify(self, app: HANDLE, pin: str, kind: int = USER_TYPE) -> Tuple[int, int]:
        retries = ULONG(0xFFFF)
        code = self("SKF_VerifyPIN", app, kind, pin.encode(), byref(retries))
        return code, retries.value

    def pin_info(self, app: HANDLE, kind: int = USER_TYPE) -> Tuple[int, int, bool]:
        maximum, remaining, default = ULONG(), ULONG(), ctypes.c_int32()
        self.ok("SKF_GetPINInfo", app, kind, byref(maximum), byref(remaining), byref(default))
        return maximum.value, remaining.value, bool(default.value)

    def container(self, app: HANDLE, name: str, create: bool = True) -> HANDLE:
        con = HANDLE()
        self.ok("SKF_CreateContainer" if create else "SKF_OpenContainer", app, name.encode(), byref(con))
        return con

    def keygen(self, con: HANDLE, alg: int = 0x00020100) -> ECCPUBLICKEYBLOB:
        blob = ECCPUBLICKEYBLOB()
        self.ok("SKF_GenECCKeyPair", con, alg, byref(blob))
        return blob

    def public(self, con: HANDLE, sign: bool = True) -> bytes:
        size = ULONG(0)
        self.ok("SKF_ExportPublicKey", con, int(sign), None, byref(size))
        out = create_string_buffer(size.value)
        self.ok("SKF_ExportPublicKey", con, int(sign), out, byref(size))
        return out.raw[: size.value]

    def sign(self, con: HANDLE, digest: bytes) -> ECCSIGNATUREBLOB:
        blob = ECCSIGNATUREBLOB()
        self.ok("SKF_ECCSignData", con, digest, len(digest), byref(blob))
        return blob
