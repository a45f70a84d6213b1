"""One loaded SKF library: its functions bound with the right calling convention, calls serialised, the
standard's two-call buffer pattern, and a per-process cache (a vendor library is loaded once)."""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from ctypes import byref, create_string_buffer
from typing import Any, Callable, Dict, List, Optional

from drivers.errors import DeviceError, DriverUnavailable, NotSupported
from drivers.skf.api import PROTOTYPES, REQUIRED, ULONG, UNTYPED, Sar, multi_string
from drivers.skf.errors import Context, map_error

MAX_BUFFER = 1 << 20  # no name list, certificate or blob is larger; a bigger answer is a library bug
UNLOCKED = ("SKF_WaitForDevEvent", "SKF_CancelWaitForDevEvent")  # may run beside every other call

Loader = Callable[[str], Any]


def _loaders(convention: Optional[str], platform: str) -> List[Loader]:
    """Windows: stdcall (WinDLL) first unless the profile says cdecl; elsewhere there is one convention."""
    if not platform.startswith("win"):
        return [ctypes.CDLL]
    stdcall: Loader = ctypes.WinDLL  # type: ignore[attr-defined,unused-ignore]
    cdecl: Loader = ctypes.CDLL
    return [cdecl, stdcall] if convention == "cdecl" else [stdcall, cdecl]


class SkfLibrary:
    """``call`` returns the raw SAR code; ``check`` raises the mapped driver error. Thread-safe: calls run one at a
    time under ``lock`` (vendor libraries are not reliably re-entrant), except the event wait and its cancel."""

    def __init__(
        self,
        path: str,
        convention: Optional[str] = None,
        platform: Optional[str] = None,
        loaders: Optional[List[Loader]] = None,
    ) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.convention = "cdecl"
        platform = platform or sys.platform
        candidates = loaders or _loaders(convention, platform)
        errors = []
        for loader in candidates:
            try:
                dll = loader(path)
            except OSError as exc:
                errors.append(str(exc))
                continue
            self._bind(dll)
            if len(candidates) == 1 or self._probe():
                self.convention = "stdcall" if loader is not ctypes.CDLL else "cdecl"
                break
        else:
            raise DriverUnavailable(
                f"SKF library {path} could not be loaded ({'; '.join(errors) or 'no answer'})", _hint()
            )
        missing = [name for name in REQUIRED if name not in self.functions]
        if missing:
            raise DriverUnavailable(
                f"{path} is not an SKF library (it lacks {', '.join(missing)})",
                "point --skf-module at the USB key's GM/T 0016 (SKF) library, not its CSP or PKCS#11 module",
            )

    def _bind(self, dll: Any) -> None:
        self.functions: Dict[str, Any] = {}
        for name, argtypes in PROTOTYPES.items():
            try:
                function = getattr(dll, name)
            except AttributeError:
                continue
            function.restype = ULONG
            if name not in UNTYPED:
                function.argtypes = list(argtypes)
            self.functions[name] = function

    def _probe(self) -> bool:
        """A stdcall mismatch on 32-bit Windows shows as ValueError from ctypes on the first call."""
        size = ULONG(0)
        try:
            self.functions["SKF_EnumDev"](1, None, byref(size))
        except (KeyError, ValueError):
            return False
        return True

    @property
    def missing(self) -> List[str]:
        return [name for name in PROTOTYPES if name not in self.functions]

    def has(self, name: str) -> bool:
        return name in self.functions

    def call(self, name: str, *args: Any) -> int:
        function = self.functions.get(name)
        if function is None:
            raise NotSupported(f"{name} (the library {os.path.basename(self.path)} does not export it)")
        if name in UNLOCKED:
            return int(function(*args))
        with self.lock:
            return int(function(*args))

    def check(self, name: str, *args: Any, context: Optional[Context] = None) -> None:
        code = self.call(name, *args)
        if code != Sar.SAR_OK:
            raise map_error(code, context)

    # -- the two-call pattern: ask the size with a NULL buffer, then fill ----------------------
    def read_buffer(self, name: str, *args: Any, context: Optional[Context] = None) -> bytes:
        """``name(*args, buffer, &size)``: size query first; grows once more if the library changes its mind."""
        with self.lock:
            size = ULONG(0)
            self.check(name, *args, None, byref(size), context=context)
            for _attempt in range(3):
                if size.value > MAX_BUFFER:
                    raise DeviceError(f"{name} asked for an implausible buffer of {size.value} bytes", "size")
                if size.value == 0:
                    return b""
                buffer = create_string_buffer(size.value)
                capacity = size.value
                code = self.call(name, *args, buffer, byref(size))
                if code == Sar.SAR_BUFFER_TOO_SMALL:
                    continue
                if code != Sar.SAR_OK:
                    raise map_error(code, context)
                return buffer.raw[: min(size.value, capacity)]
            raise map_error(Sar.SAR_BUFFER_TOO_SMALL, context)

    def read_names(self, name: str, *args: Any, context: Optional[Context] = None) -> List[bytes]:
        return multi_string(self.read_buffer(name, *args, context=context))


def _hint() -> str:
    if sys.platform.startswith("win"):
        bits = 64 if sys.maxsize > 2**32 else 32
        return (
            f"reinstall the USB key's driver; this program is {bits}-bit and needs the {bits}-bit SKF library "
            "(a 32-bit DLL cannot load into a 64-bit process)"
        )
    return "reinstall the USB key's driver, or check the library's dependencies with ldd"


_cache: Dict[str, SkfLibrary] = {}
_cache_lock = threading.Lock()


def load_library(path: str, convention: Optional[str] = None) -> SkfLibrary:
    """Each library file once per process (vendor libraries keep global state)."""
    real = os.path.realpath(path)
    with _cache_lock:
        library = _cache.get(real)
        if library is None:
            if not os.path.exists(real):
                raise DriverUnavailable(f"SKF library {path} not found", "install the USB key's driver or fix the path")
            library = SkfLibrary(real, convention)
            _cache[real] = library
        return library
