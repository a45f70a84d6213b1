"""Will every binary of a bundle load on Windows 7 SP1 x64 (with the UCRT, KB2999226)? Its import tables say.

Run as ``python -m installer.winbuild.pescan FOLDER`` (exit 1 and one line per problem), or through
``check_windows7``, which the Windows 7 build calls on every build. Each PE file (by content, not name) is
read with pefile; each entry of its import and delay-import tables must be one of:

- a DLL of the bundle itself, which must export that name or ordinal (a bundled VC++ runtime or libcrypto
  older than what a module was linked against fails here, as it would at load time);
- a Universal CRT API set (``api-ms-win-crt-*-l1-1-0``) or ``ucrtbase.dll``: the UCRT update KB2999226;
- one of the API sets Windows 7 SP1 has, or the ``api-ms-win-core-*`` forwarders the UCRT update adds;
- a DLL Windows 7 SP1 ships (``WINDOWS7_DLLS``);

and never a function that came with Windows 8 or later (``NEWER_FUNCTIONS``: ``ProcessPrng`` above all, which
cryptography >= 43 imports). Unknown DLLs are refused too, so what is not known to be on Windows 7 fails
the build until someone checks it. Delay-loaded imports are held to the same rule (they fail when called).
Functions a binary looks up with GetProcAddress are not in these tables: Qt 5, Python 3.8 and OpenSSL load
their Windows 8+ calls that way on purpose, and fall back when they are missing.

The PE header's subsystem version must be 6.1 or lower too: Windows 7's loader refuses a higher one.

The lists come from Microsoft's API reference ("Minimum supported client" of each function), the API
set schema of Windows 7 SP1 and the file list of the UCRT redistributable (Windows 10 SDK,
``Redist/ucrt/DLLs/x64``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple

import pefile

# pefile stops at 8192 exports (and 8192 imports per file) as a guard against corrupt files; Qt's DLLs
# export and import more than that.
MAX_SYMBOLS = 1 << 20
pefile.MAX_IMPORT_SYMBOLS = MAX_SYMBOLS

# System DLLs of Windows 7 SP1 (lower case) that a desktop program may link against.
WINDOWS7_DLLS = frozenset(
    (
        "advapi32.dll", "bcrypt.dll", "bcryptprimitives.dll", "cabinet.dll", "cfgmgr32.dll", "comctl32.dll",
        "comdlg32.dll", "crypt32.dll", "cryptbase.dll", "cryptui.dll", "d2d1.dll", "d3d9.dll", "d3d10.dll",
        "d3d10_1.dll", "d3d11.dll", "dbghelp.dll", "dhcpcsvc.dll", "dnsapi.dll", "dwmapi.dll", "dwrite.dll",
        "dxgi.dll", "gdi32.dll", "gdiplus.dll", "glu32.dll", "hid.dll", "imm32.dll", "iphlpapi.dll",
        "kernel32.dll", "mpr.dll", "mscms.dll", "msi.dll", "msimg32.dll", "msvcrt.dll", "mswsock.dll",
        "ncrypt.dll", "netapi32.dll", "normaliz.dll", "ntdll.dll", "ole32.dll", "oleacc.dll", "oleaut32.dll",
        "opengl32.dll", "powrprof.dll", "propsys.dll", "psapi.dll", "rpcrt4.dll", "secur32.dll", "setupapi.dll",
        "shell32.dll", "shlwapi.dll", "sspicli.dll", "uiautomationcore.dll", "urlmon.dll", "user32.dll",
        "userenv.dll", "usp10.dll", "uxtheme.dll", "version.dll", "winhttp.dll", "wininet.dll", "winmm.dll",
        "winscard.dll", "winspool.drv", "wintrust.dll", "wldap32.dll", "ws2_32.dll", "wsock32.dll", "wtsapi32.dll",
    )
)  # fmt: skip
# The Universal CRT (KB2999226 on Windows 7; part of Windows 10).
UCRT = frozenset(["ucrtbase.dll", *(f"api-ms-win-crt-{part}-l1-1-0.dll" for part in (
    "conio", "convert", "environment", "filesystem", "heap", "locale", "math", "multibyte", "private", "process",
    "runtime", "stdio", "string", "time", "utility",
))])  # fmt: skip
# API sets Windows 7 SP1 resolves (its own schema, plus the api-ms-win-core forwarders KB2999226 installs:
# file-l1-2-0, file-l2-1-0, localization-l1-2-0, processthreads-l1-1-1, synch-l1-2-0, timezone-l1-1-0).
WINDOWS7_API_SETS = frozenset([*(f"api-ms-win-core-{part}.dll" for part in (
    "console-l1-1-0", "datetime-l1-1-0", "debug-l1-1-0", "delayload-l1-1-0", "errorhandling-l1-1-0",
    "fibers-l1-1-0", "file-l1-1-0", "file-l1-2-0", "file-l2-1-0", "handle-l1-1-0", "heap-l1-1-0",
    "interlocked-l1-1-0", "io-l1-1-0", "libraryloader-l1-1-0", "localization-l1-1-0", "localization-l1-2-0",
    "localregistry-l1-1-0", "memory-l1-1-0", "misc-l1-1-0", "namedpipe-l1-1-0", "processenvironment-l1-1-0",
    "processthreads-l1-1-0", "processthreads-l1-1-1", "profile-l1-1-0", "rtlsupport-l1-1-0", "string-l1-1-0",
    "synch-l1-1-0", "synch-l1-2-0", "sysinfo-l1-1-0", "threadpool-l1-1-0", "timezone-l1-1-0", "util-l1-1-0",
    "xstate-l1-1-0",
)), *(f"api-ms-win-{part}.dll" for part in (
    "security-base-l1-1-0", "security-lsalookup-l1-1-0", "security-sddl-l1-1-0", "service-core-l1-1-0",
    "service-management-l1-1-0", "service-management-l2-1-0", "service-winsvc-l1-1-0",
))])  # fmt: skip
_WIN8 = "Windows 8"
_WIN81 = "Windows 8.1"
_WIN10 = "Windows 10"
# Functions of DLLs Windows 7 has that only a later Windows exports (a static import of one fails to load).
NEWER_FUNCTIONS: Dict[str, str] = {
    # bcryptprimitives.dll (cryptography >= 43, Rust's std since 1.78)
    "ProcessPrng": _WIN10,
    # kernel32 / kernelbase and their API sets
    "GetSystemTimePreciseAsFileTime": _WIN8,
    "CreateFile2": _WIN8,
    "CopyFile2": _WIN8,
    "GetCurrentThreadStackLimits": _WIN8,
    "SetThreadInformation": _WIN8,
    "GetThreadInformation": _WIN8,
    "GetProcessInformation": _WIN8,
    "SetProcessInformation": _WIN8,
    "GetProcessMitigationPolicy": _WIN8,
    "SetProcessMitigationPolicy": _WIN8,
    "WaitOnAddress": _WIN8,
    "WakeByAddressSingle": _WIN8,
    "WakeByAddressAll": _WIN8,
    "InitializeSynchronizationBarrier": _WIN8,
    "EnterSynchronizationBarrier": _WIN8,
    "DeleteSynchronizationBarrier": _WIN8,
    "CreateFileMappingFromApp": _WIN8,
    "MapViewOfFileFromApp": _WIN8,
    "GetFirmwareType": _WIN8,
    "GetOverlappedResultEx": _WIN8,
    "GetDynamicTimeZoneInformationEffectiveYears": _WIN8,
    "GetCurrentPackageId": _WIN8,
    "GetCurrentPackageFullName": _WIN8,
    "GetCurrentPackageFamilyName": _WIN8,
    "GetCurrentPackagePath": _WIN8,
    "GetPackageFullName": _WIN8,
    "GetPackageFamilyName": _WIN8,
    "GetPackagePath": _WIN8,
    "PrefetchVirtualMemory": _WIN8,
    "DiscardVirtualMemory": _WIN81,
    "OfferVirtualMemory": _WIN81,
    "ReclaimVirtualMemory": _WIN81,
    "SetThreadDescription": _WIN10,
    "GetThreadDescription": _WIN10,
    "GetSystemCpuSetInformation": _WIN10,
    "SetThreadSelectedCpuSets": _WIN10,
    "QueryInterruptTime": _WIN10,
    "QueryInterruptTimePrecise": _WIN10,
    "QueryUnbiasedInterruptTimePrecise": _WIN10,
    "VirtualAlloc2": _WIN10,
    "VirtualAlloc2FromApp": _WIN10,
    "VirtualAllocFromApp": _WIN10,
    "MapViewOfFile3": _WIN10,
    "CreatePseudoConsole": _WIN10,
    "ResizePseudoConsole": _WIN10,
    "ClosePseudoConsole": _WIN10,
    "CompareObjectHandles": _WIN10,
    "GetTempPath2W": _WIN10,
    "GetTempPath2A": _WIN10,
    "GetUserDefaultGeoName": _WIN10,
    "SetDefaultDllDirectories": "Windows 8 (Windows 7 only with KB2533623)",
    "AddDllDirectory": "Windows 8 (Windows 7 only with KB2533623)",
    "RemoveDllDirectory": "Windows 8 (Windows 7 only with KB2533623)",
    # user32: pointer input, DPI awareness
    "GetPointerType": _WIN8,
    "GetPointerInfo": _WIN8,
    "GetPointerFrameInfo": _WIN8,
    "GetPointerPenInfo": _WIN8,
    "GetPointerTouchInfo": _WIN8,
    "GetPointerDevices": _WIN8,
    "GetPointerDeviceRects": _WIN8,
    "EnableMouseInPointer": _WIN8,
    "InitializeTouchInjection": _WIN8,
    "InjectTouchInput": _WIN8,
    "RegisterPointerDeviceNotifications": _WIN8,
    "SkipPointerFrameMessages": _WIN8,
    "GetDisplayAutoRotationPreferences": _WIN8,
    "SetDisplayAutoRotationPreferences": _WIN8,
    "GetCurrentInputMessageSource": _WIN8,
    "SetCoalescableTimer": _WIN8,
    "IsImmersiveProcess": _WIN8,
    "LogicalToPhysicalPointForPerMonitorDPI": _WIN81,
    "PhysicalToLogicalPointForPerMonitorDPI": _WIN81,
    "GetDpiForWindow": _WIN10,
    "GetDpiForSystem": _WIN10,
    "GetSystemMetricsForDpi": _WIN10,
    "AdjustWindowRectExForDpi": _WIN10,
    "SystemParametersInfoForDpi": _WIN10,
    "EnableNonClientDpiScaling": _WIN10,
    "SetProcessDpiAwarenessContext": _WIN10,
    "SetThreadDpiAwarenessContext": _WIN10,
    "GetThreadDpiAwarenessContext": _WIN10,
    "GetWindowDpiAwarenessContext": _WIN10,
    "GetAwarenessFromDpiAwarenessContext": _WIN10,
    "AreDpiAwarenessContextsEqual": _WIN10,
    "IsValidDpiAwarenessContext": _WIN10,
    "GetDpiFromDpiAwarenessContext": _WIN10,
    # uxtheme, bcrypt, ws2_32, dxgi, ntdll
    "OpenThemeDataForDpi": _WIN10,
    "BCryptHash": _WIN10,
    "BCryptKeyDerivation": _WIN8,
    "GetAddrInfoExCancel": _WIN8,
    "GetAddrInfoExOverlappedResult": _WIN8,
    "CreateDXGIFactory2": _WIN81,
    "RtlGetDeviceFamilyInfoEnum": _WIN10,
}
# Delay-loaded DLLs that are absent on purpose: the binary calls into them only on a Windows older than 7.
DELAY_LOADED_FALLBACKS = {
    # the VC++ 2015-2019 runtime's std::mutex and condition_variable use SRW locks on Vista and later, and
    # the Concurrency Runtime's critical sections only on Windows XP / Server 2003
    "concrt140.dll": "msvcp140.dll",
}
# Windows 7's loader refuses an image whose subsystem version is above 6.1.
MAX_SUBSYSTEM = (6, 1)


@dataclass(frozen=True)
class Problem:
    binary: str  # relative to the scanned folder
    what: str

    def __str__(self) -> str:
        return f"{self.binary}: {self.what}"


def is_pe(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            header = handle.read(64)
            if len(header) < 64 or header[:2] != b"MZ":
                return False
            handle.seek(int.from_bytes(header[60:64], "little"))
            return handle.read(4) == b"PE\0\0"
    except OSError:
        return False


def pe_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink() and is_pe(path):
            yield path


def _imports(pe: pefile.PE) -> Iterator[Tuple[str, Optional[str], Optional[int], bool]]:
    """(dll, function name, ordinal, delay-loaded) for every imported function."""
    for attribute, delayed in (("DIRECTORY_ENTRY_IMPORT", False), ("DIRECTORY_ENTRY_DELAY_IMPORT", True)):
        for entry in getattr(pe, attribute, []):
            dll = entry.dll.decode("ascii", "replace").lower()
            for imp in entry.imports:
                name = imp.name.decode("ascii", "replace") if imp.name else None
                yield dll, name, (imp.ordinal if not imp.name else None), delayed


def _exports(pe: pefile.PE) -> Tuple[Set[str], Set[int]]:
    directory = getattr(pe, "DIRECTORY_ENTRY_EXPORT", None)
    if directory is None:
        return set(), set()
    names = {s.name.decode("ascii", "replace") for s in directory.symbols if s.name}
    return names, {s.ordinal for s in directory.symbols}


def _load(path: Path) -> pefile.PE:
    pe = pefile.PE(str(path), fast_load=True, max_symbol_exports=MAX_SYMBOLS)
    pe.parse_data_directories(
        directories=[
            pefile.DIRECTORY_ENTRY[name]
            for name in (
                "IMAGE_DIRECTORY_ENTRY_IMPORT",
                "IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT",
                "IMAGE_DIRECTORY_ENTRY_EXPORT",
            )
        ]
    )
    return pe


def scan(folder: Path, binaries: Optional[Iterable[Path]] = None) -> List[Problem]:
    """Everything in ``folder`` (or the given binaries, resolved against the DLLs in ``folder``) that Windows 7 SP1
    with the UCRT could not load."""
    all_pe = list(pe_files(folder))
    bundled: Dict[str, Path] = {}
    for path in all_pe:
        bundled.setdefault(path.name.lower(), path)  # the loader finds one per name (the app's folders)
    exports: Dict[str, Tuple[Set[str], Set[int]]] = {}
    problems: List[Problem] = []
    for path in list(binaries) if binaries is not None else all_pe:
        relative = path.relative_to(folder).as_posix() if path.is_relative_to(folder) else str(path)
        pe = _load(path)
        version = (pe.OPTIONAL_HEADER.MajorSubsystemVersion, pe.OPTIONAL_HEADER.MinorSubsystemVersion)
        if version > MAX_SUBSYSTEM:
            subsystem = f"subsystem version {version[0]}.{version[1]} (Windows 7 loads up to 6.1)"
            problems.append(Problem(relative, subsystem))
        for dll, name, ordinal, delayed in _imports(pe):
            if dll in bundled and dll not in exports:
                exports[dll] = _exports(_load(bundled[dll]))
            what = _check_import(path.name.lower(), dll, name, ordinal, delayed, exports.get(dll))
            if what:
                problems.append(Problem(relative, what))
    return problems


def _check_import(
    importer: str,
    dll: str,
    name: Optional[str],
    ordinal: Optional[int],
    delayed: bool,
    bundled_exports: Optional[Tuple[Set[str], Set[int]]],
) -> str:
    """What is wrong with one import ("" when Windows 7 SP1 + UCRT, or the bundle, has it)."""
    what = f"{dll}!{name if name is not None else f'#{ordinal}'}" + (" (delay-loaded)" if delayed else "")
    if bundled_exports is not None:
        names, ordinals = bundled_exports
        if (name is not None and name not in names) or (name is None and ordinal not in ordinals):
            return f"imports {what}, which the bundled {dll} does not export"
        return ""
    if dll in UCRT or (delayed and DELAY_LOADED_FALLBACKS.get(dll) == importer):
        return ""
    if dll.startswith(("api-ms-", "ext-ms-")) and dll not in WINDOWS7_API_SETS:
        return f"imports {what}: API set {dll} is newer than Windows 7"
    if not dll.startswith(("api-ms-", "ext-ms-")) and dll not in WINDOWS7_DLLS:
        return f"imports {what}: {dll} is neither bundled nor part of Windows 7"
    return f"imports {what}, which needs {NEWER_FUNCTIONS[name]}" if name in NEWER_FUNCTIONS else ""


def check_windows7(folder: Path) -> int:
    """Raise RuntimeError listing every problem; return the number of binaries checked."""
    problems = scan(folder)
    if problems:
        listing = "\n  ".join(str(p) for p in problems)
        raise RuntimeError(f"{len(problems)} import(s) Windows 7 SP1 cannot satisfy in {folder}:\n  {listing}")
    return len(list(pe_files(folder)))


def main(argv: List[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m installer.winbuild.pescan FOLDER", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    problems = scan(folder)
    for problem in problems:
        print(problem)
    print(f"{len(list(pe_files(folder)))} binaries, {len(problems)} problem(s) for Windows 7 SP1 x64 + KB2999226")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
