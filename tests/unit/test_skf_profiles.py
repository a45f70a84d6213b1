"""SKF token profiles and how libraries are found: built-in vendor names, user profiles, bare names in the system
library folders, explicit paths, and the calling-convention choice on Windows."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
from pathlib import Path
from typing import Any, List

import pytest

from drivers.errors import DriverUnavailable
from drivers.profiles import ProfileError, ProfileSet, load_profile_file
from drivers.skf import library as library_module
from drivers.skf.locate import candidates, profile_for_path, resolve


def test_builtin_skf_profiles_name_their_sources() -> None:
    profiles = [p for p in ProfileSet.load().profiles if p.skf is not None]
    ids = {p.id for p in profiles}
    assert {"softskf", "longmai-gm3000", "feitian-epass3000gm", "haitai"} <= ids
    for profile in profiles:
        assert profile.skf is not None and profile.skf.reference, profile.id
        assert profile.skf.sgd in ("gmt0016", "gmt0006")
    longmai = next(p for p in profiles if p.id == "longmai-gm3000")
    assert longmai.skf is not None
    assert longmai.skf.library_candidates("win32") == ("mtoken_gm3000.dll",)
    assert "libgm3000.1.0.so" in longmai.skf.library_candidates("linux")


def test_user_profile_replaces_a_builtin_and_adds_libraries(tmp_path: Path) -> None:
    (tmp_path / "mine.json").write_text(
        json.dumps(
            {
                "profiles": [
                    {
                        "id": "longmai-gm3000",
                        "vendor": "my Longmai",
                        "skf": {"libraries": {"linux": ["/opt/longmai/libgm3000.1.0.so"]}, "sgd": "gmt0006"},
                    }
                ]
            }
        )
    )
    profiles = ProfileSet.load(tmp_path)
    mine = next(p for p in profiles.profiles if p.id == "longmai-gm3000")
    assert mine.vendor == "my Longmai" and mine.skf is not None and mine.skf.sgd == "gmt0006"
    assert "/opt/longmai/libgm3000.1.0.so" in [m for _p, m in profiles.skf_candidates("linux")]


def test_a_bad_skf_section_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"profiles": [{"id": "x", "skf": {"libraries": {}, "sgd": "gmt9999"}}]}))
    with pytest.raises(ProfileError, match="gmt0016 or gmt0006"):
        load_profile_file(path)


def test_bare_names_are_found_in_library_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "libgm3000.1.0.so").write_bytes(b"")
    monkeypatch.setenv("LD_LIBRARY_PATH", str(folder))
    assert resolve("libgm3000.1.0.so", "linux") == str(folder / "libgm3000.1.0.so")
    assert resolve("libnothing.so", "linux") is None
    monkeypatch.setenv("VENDOR_DIR", str(folder))
    assert resolve("$VENDOR_DIR/libgm3000.1.0.so", "linux") == str(folder / "libgm3000.1.0.so")
    found = candidates(["/explicit/libother.so"], ProfileSet.load(), "linux")
    assert found[0].path == "/explicit/libother.so" and found[0].explicit and found[0].profile is None
    [longmai] = [c for c in found if not c.explicit and c.profile is not None and c.profile.id == "longmai-gm3000"]
    assert longmai.path == str(folder / "libgm3000.1.0.so")


def test_windows_lookup_uses_system32_and_ignores_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system32 = tmp_path / "System32"
    system32.mkdir()
    (system32 / "ShuttleCsp11_3000GM.dll").write_bytes(b"")
    monkeypatch.setenv("SYSTEMROOT", str(tmp_path))
    assert resolve("ShuttleCsp11_3000GM.dll", "win32") == str(system32 / "ShuttleCsp11_3000GM.dll")
    profiles = ProfileSet.load()
    profile = profile_for_path(r"C:\Windows\System32\shuttlecsp11_3000gm.dll", profiles, "win32")
    assert profile is not None and profile.id == "feitian-epass3000gm"
    assert profile_for_path("/usr/lib/shuttlecsp11_3000gm.dll", profiles, "linux") is None


class FakeFunction:
    def __init__(self, name: str, stdcall_mismatch: bool) -> None:
        self.name, self.mismatch = name, stdcall_mismatch
        self.restype: Any = None
        self.argtypes: List[Any] = []

    def __call__(self, *args: Any) -> int:
        if self.mismatch:
            raise ValueError("Procedure probably called with too many arguments (12 bytes in excess)")
        return 0


def fake_loader(kind: str, mismatch: bool, calls: List[str]) -> Any:
    class Dll:
        def __init__(self, path: str) -> None:
            calls.append(kind)

        def __getattr__(self, name: str) -> FakeFunction:
            if not name.startswith("SKF_"):
                raise AttributeError(name)
            return FakeFunction(name, mismatch)

    return Dll


def test_a_cdecl_library_is_retried_after_a_stdcall_mismatch() -> None:
    calls: List[str] = []
    stdcall = fake_loader("stdcall", True, calls)
    cdecl = fake_loader("cdecl", False, calls)
    lib = library_module.SkfLibrary("vendor.dll", platform="win32", loaders=[stdcall, cdecl])
    assert calls == ["stdcall", "cdecl"]
    assert lib.has("SKF_EnumDev")


def test_stdcall_first_on_windows_unless_the_profile_says_cdecl(monkeypatch: pytest.MonkeyPatch) -> None:
    stdcall = fake_loader("stdcall", False, [])
    monkeypatch.setattr(ctypes, "WinDLL", stdcall, raising=False)  # only Windows has it
    assert library_module._loaders(None, "win32") == [stdcall, ctypes.CDLL]
    assert library_module._loaders("cdecl", "win32") == [ctypes.CDLL, stdcall]
    assert library_module._loaders("stdcall", "linux") == [ctypes.CDLL]


def test_missing_files_and_non_skf_libraries_are_refused() -> None:
    with pytest.raises(DriverUnavailable, match="not found"):
        library_module.load_library("/nonexistent/libskf.so")
    libc = ctypes.util.find_library("c")
    assert libc is not None
    with pytest.raises(DriverUnavailable, match="not an SKF library"):
        library_module.SkfLibrary(libc)
