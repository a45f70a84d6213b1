"""Windows registry and service queries (no-ops elsewhere). Only the standard library: winreg and ctypes.

Machine defaults are what the MSI writes to ``HKLM\\Software\\CertAssist`` from its SERVICEURL, AUTOSTART and
LANGUAGE properties; the Run entries are ``HKLM``'s (written by the MSI for every user) and ``HKCU``'s
(written by the app for one user when no installation provides the machine entry).
``mypy --platform win32`` checks the Windows branches (test.sh).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Dict, Optional

MACHINE_KEY = r"Software\CertAssist"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "CertAssist"
SMART_CARD_SERVICE = "SCardSvr"
ERROR_SERVICE_DOES_NOT_EXIST = 1060
_SERVICE_STATES = {
    1: "stopped",
    2: "start pending",
    3: "stop pending",
    4: "running",
    5: "continue pending",
    6: "pause pending",
    7: "paused",
}


def machine_values() -> Dict[str, str]:
    """The values under HKLM\\Software\\CertAssist as text ({} when absent, and outside Windows)."""
    values: Dict[str, str] = {}
    if sys.platform == "win32":
        import winreg

        access = winreg.KEY_READ | winreg.KEY_WOW64_64KEY
        try:
            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, MACHINE_KEY, 0, access) as key:
                for index in range(winreg.QueryInfoKey(key)[1]):
                    name, value, _kind = winreg.EnumValue(key, index)
                    values[name] = str(value)
        except OSError:
            return {}
    return values


def run_entry(machine: bool) -> Optional[str]:
    """The CertAssist command in HKLM's (machine) or HKCU's Run key, or None."""
    if sys.platform == "win32":
        import winreg

        hive = winreg.HKEY_LOCAL_MACHINE if machine else winreg.HKEY_CURRENT_USER
        try:
            with winreg.OpenKey(hive, RUN_KEY, 0, winreg.KEY_READ | winreg.KEY_WOW64_64KEY) as key:
                value, _kind = winreg.QueryValueEx(key, RUN_VALUE)
                return str(value)
        except OSError:
            return None
    else:
        return None


def set_user_run_entry(command: Optional[str]) -> None:
    """Write (or, with None, delete) HKCU's Run entry. Raises OSError when the registry refuses."""
    if sys.platform == "win32":
        import winreg

        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            if command is not None:
                winreg.SetValueEx(key, RUN_VALUE, 0, winreg.REG_SZ, command)
            else:
                with contextlib.suppress(FileNotFoundError):
                    winreg.DeleteValue(key, RUN_VALUE)
    else:
        raise OSError("the Run key exists only on Windows")


def service_state(name: str = SMART_CARD_SERVICE) -> Dict[str, str]:
    """``{"name", "state"}`` of a Windows service: running, stopped …, "not installed" or "unknown (…)"."""
    if sys.platform == "win32":
        return {"name": name, "state": _query_service(name)}
    else:
        return {"name": name, "state": "not applicable"}


if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    class _ServiceStatus(ctypes.Structure):
        _fields_ = [
            (field, wintypes.DWORD)
            for field in ("type", "state", "controls", "exit_code", "service_exit_code", "checkpoint", "wait_hint")
        ]

    def _advapi() -> ctypes.WinDLL:
        advapi = ctypes.WinDLL("advapi32", use_last_error=True)
        advapi.OpenSCManagerW.restype = wintypes.HANDLE
        advapi.OpenSCManagerW.argtypes = [wintypes.LPCWSTR, wintypes.LPCWSTR, wintypes.DWORD]
        advapi.OpenServiceW.restype = wintypes.HANDLE
        advapi.OpenServiceW.argtypes = [wintypes.HANDLE, wintypes.LPCWSTR, wintypes.DWORD]
        advapi.QueryServiceStatus.argtypes = [wintypes.HANDLE, ctypes.c_void_p]
        advapi.CloseServiceHandle.argtypes = [wintypes.HANDLE]
        return advapi

    def _query_service(name: str) -> str:
        advapi = _advapi()
        manager = advapi.OpenSCManagerW(None, None, 0x0001)  # SC_MANAGER_CONNECT
        if not manager:
            return f"unknown (service manager: error {ctypes.get_last_error()})"
        try:
            service = advapi.OpenServiceW(manager, name, 0x0004)  # SERVICE_QUERY_STATUS
            if not service:
                error = ctypes.get_last_error()
                return "not installed" if error == ERROR_SERVICE_DOES_NOT_EXIST else f"unknown (error {error})"
            try:
                status = _ServiceStatus()
                if not advapi.QueryServiceStatus(service, ctypes.byref(status)):
                    return f"unknown (error {ctypes.get_last_error()})"
                return _SERVICE_STATES.get(status.state, f"state {status.state}")
            finally:
                advapi.CloseServiceHandle(service)
        finally:
            advapi.CloseServiceHandle(manager)
