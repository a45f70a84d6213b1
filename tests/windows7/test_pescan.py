"""The Windows 7 import-table scan (installer/winbuild/pescan.py) on binaries built here with mingw-w64 for
the purpose: what Windows 7 SP1 lacks is refused, what it has passes. The real bundle: tests/windows7."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import List

import pytest

from installer.winbuild.pescan import check_windows7, scan

pytestmark = [pytest.mark.integration, pytest.mark.main_python]  # mingw-w64; pefile is in the main environment
CC = "x86_64-w64-mingw32-gcc"


def _import_library(folder: Path, dll: str, functions: List[str]) -> Path:
    """An import library for ``dll`` exporting ``functions`` (whatever mingw-w64's own libraries hold)."""
    definition = folder / f"{dll}.def"
    definition.write_text(f"LIBRARY {dll}\nEXPORTS\n" + "".join(f"{f}\n" for f in functions))
    library = folder / f"lib{dll}.a"
    subprocess.run(["x86_64-w64-mingw32-dlltool", "-d", str(definition), "-l", str(library)], check=True)
    return library


def _dll(folder: Path, name: str, source: str, *extra: str) -> Path:
    c = folder / f"{name}.c"
    c.write_text("#include <windows.h>\n" + source)
    out = folder / f"{name}.dll"
    subprocess.run([CC, "-O2", "-shared", "-D_WIN32_WINNT=0x0A00", "-o", str(out), str(c), *extra], check=True)
    return out


def test_process_prng_and_other_windows_8_and_10_imports_are_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    prng = _import_library(tmp_path, "bcryptprimitives.dll", ["ProcessPrng"])
    pathcch = _import_library(tmp_path, "api-ms-win-core-path-l1-1-0.dll", ["PathCchSkipRoot"])
    _dll(
        bundle,
        "rust_like",
        "BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len);\n"
        "HRESULT WINAPI PathCchSkipRoot(PCWSTR path, PCWSTR *root);\n"
        "__declspec(dllexport) int use(void) {\n"
        "  BYTE b[16]; FILETIME t; PCWSTR root;\n"
        "  GetSystemTimePreciseAsFileTime(&t);\n"
        '  PathCchSkipRoot(L"C:\\\\x", &root);\n'
        "  return ProcessPrng(b, sizeof b);\n"
        "}\n",
        str(prng),
        str(pathcch),
    )
    found = sorted(str(p) for p in scan(bundle))
    assert found == [
        "rust_like.dll: imports api-ms-win-core-path-l1-1-0.dll!PathCchSkipRoot: "
        "API set api-ms-win-core-path-l1-1-0.dll is newer than Windows 7",
        "rust_like.dll: imports bcryptprimitives.dll!ProcessPrng, which needs Windows 10",
        "rust_like.dll: imports kernel32.dll!GetSystemTimePreciseAsFileTime, which needs Windows 8",
    ]
    with pytest.raises(RuntimeError, match=r"(?s)3 import.*ProcessPrng"):
        check_windows7(bundle)


def test_a_binary_using_what_windows_7_has_passes(tmp_path: Path) -> None:
    _dll(
        tmp_path,
        "fine",
        "__declspec(dllexport) ULONGLONG use(void) {\n"
        "  SRWLOCK lock = SRWLOCK_INIT; AcquireSRWLockExclusive(&lock); ReleaseSRWLockExclusive(&lock);\n"
        '  return GetTickCount64() + (ULONGLONG)MessageBoxW(NULL, L"x", L"y", MB_OK);\n'
        "}\n",
        "-luser32",
    )
    assert scan(tmp_path) == []
    assert check_windows7(tmp_path) == 1


def test_unknown_dlls_missing_exports_and_a_new_subsystem_version_are_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    _dll(bundle, "helper", "__declspec(dllexport) int present(void) { return 1; }\n")
    wrong = _import_library(tmp_path, "helper.dll", ["present", "absent"])
    icu = _import_library(tmp_path, "icuuc.dll", ["ucnv_open"])
    _dll(
        bundle,
        "user",
        "int present(void); int absent(void); void *ucnv_open(const char *, int *);\n"
        '__declspec(dllexport) int use(void) { int e; return present() + absent() + (ucnv_open("x", &e) != 0); }\n',
        str(wrong),
        str(icu),
    )
    _dll(
        bundle,
        "modern",
        "__declspec(dllexport) int f(void) { return 0; }\n",
        "-Wl,--major-subsystem-version,10",
        "-Wl,--minor-subsystem-version,0",
    )
    found = sorted(str(p) for p in scan(bundle))
    assert found == [
        "modern.dll: subsystem version 10.0 (Windows 7 loads up to 6.1)",
        "user.dll: imports helper.dll!absent, which the bundled helper.dll does not export",
        "user.dll: imports icuuc.dll!ucnv_open: icuuc.dll is neither bundled nor part of Windows 7",
    ]
