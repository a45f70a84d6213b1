"""C_SetPIN and C_InitPIN on a python-pkcs11 session, whatever its version.

python-pkcs11 0.7.0, the last release for Python 3.8 (the Windows 7 build), has no ``Session.set_pin``
or ``Session.init_pin``. There the two calls go through the module's own function list (ctypes), on the
same session handle, and a failure raises the exception python-pkcs11 itself maps the CKR code to, so
the driver's error table applies unchanged.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any, Callable, Dict

CK_RV = ctypes.c_ulong  # CK_ULONG: unsigned long, 32-bit on Windows
_PIN_FUNCTION = ctypes.CFUNCTYPE(
    CK_RV, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_ulong
)  # C_SetPIN(hSession, pOldPin, ulOldLen, pNewPin, ulNewLen)
_INIT_PIN_FUNCTION = ctypes.CFUNCTYPE(CK_RV, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_ulong)


class _FunctionList(ctypes.Structure):
    """The head of CK_FUNCTION_LIST, up to C_SetPIN (PKCS#11 2.40, pkcs11f.h order)."""

    if sys.platform == "win32":
        _pack_ = 1  # cryptoki.h packs its structures to 1 byte on Windows
    _fields_ = [
        ("version_major", ctypes.c_ubyte),
        ("version_minor", ctypes.c_ubyte),
        *[
            (name, ctypes.c_void_p)
            for name in (
                "C_Initialize",
                "C_Finalize",
                "C_GetInfo",
                "C_GetFunctionList",
                "C_GetSlotList",
                "C_GetSlotInfo",
                "C_GetTokenInfo",
                "C_GetMechanismList",
                "C_GetMechanismInfo",
                "C_InitToken",
            )
        ],
        ("C_InitPIN", _INIT_PIN_FUNCTION),
        ("C_SetPIN", _PIN_FUNCTION),
    ]


_lists: Dict[str, Any] = {}  # module path -> CK_FUNCTION_LIST pointer (the library stays loaded)


def _function_list(path: str) -> Any:
    if path not in _lists:
        library = ctypes.CDLL(path)  # already loaded by python-pkcs11: the same, initialised module
        pointer = ctypes.POINTER(_FunctionList)()
        get_function_list = library.C_GetFunctionList
        get_function_list.argtypes = [ctypes.POINTER(ctypes.POINTER(_FunctionList))]
        get_function_list.restype = CK_RV
        _check(get_function_list(ctypes.byref(pointer)))
        _lists[path] = pointer.contents
    return _lists[path]


def _check(rv: int) -> None:
    if rv:
        from pkcs11._pkcs11 import assertRV  # type: ignore[attr-defined]  # raises the exception python-pkcs11 maps rv to

        assertRV(rv)


def _call(session: Any, function: Callable[[], int]) -> None:
    with session._operation_lock:
        _check(function())


def set_pin(session: Any, module: str, old_pin: str, new_pin: str) -> None:
    """C_SetPIN on ``session`` of the PKCS#11 library at ``module``: the user's PIN (the SO's in an SO
    session); the token checks ``old_pin``."""
    if hasattr(session, "set_pin"):
        session.set_pin(old_pin, new_pin)
        return
    old, new = old_pin.encode(), new_pin.encode()
    functions = _function_list(module)
    _call(session, lambda: functions.C_SetPIN(session._handle, old, len(old), new, len(new)))


def init_pin(session: Any, module: str, pin: str) -> None:
    """C_InitPIN in an SO session of the library at ``module``: a new user PIN, which also unblocks it."""
    if hasattr(session, "init_pin"):
        session.init_pin(pin)
        return
    data = pin.encode()
    functions = _function_list(module)
    _call(session, lambda: functions.C_InitPIN(session._handle, data, len(data)))
