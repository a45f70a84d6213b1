"""Finding libcrypto: system, CPython install, PyInstaller bundle, explicit override."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gm._native import locate
from gm.errors import CryptoUnavailable


def test_override_is_the_only_candidate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(locate.ENV_OVERRIDE, str(tmp_path / "x.so"))
    assert locate.candidate_paths() == [str(tmp_path / "x.so")]
    with pytest.raises(CryptoUnavailable, match="libcrypto was not found"):
        locate.load_libcrypto()


def test_non_openssl3_library_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes.util

    libc = ctypes.util.find_library("c")
    assert libc is not None
    monkeypatch.setenv(locate.ENV_OVERRIDE, libc)
    with pytest.raises(CryptoUnavailable, match="not OpenSSL 3"):
        locate.load_libcrypto()


def test_windows_candidates_are_full_paths_in_bundle_and_python_dirs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(locate.ENV_OVERRIDE, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    candidates = locate.candidate_paths("win32")
    assert candidates[0] == str(tmp_path / "libcrypto-3-x64.dll")
    assert all(Path(c).is_absolute() for c in candidates)  # never a bare name the DLL search could hijack
    assert any(c.endswith(str(Path("DLLs") / "libcrypto-3.dll")) for c in candidates)


def test_linux_falls_back_to_the_dynamic_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(locate.ENV_OVERRIDE, raising=False)
    assert "libcrypto.so.3" in locate.candidate_paths("linux")


def test_system_library_loads_with_sm2() -> None:
    from gm._native.libcrypto import libcrypto

    assert libcrypto().version_text.startswith("OpenSSL 3")
