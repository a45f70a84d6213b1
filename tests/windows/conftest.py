"""The Windows delivery under Wine: one build (cached by its inputs), one fresh prefix, one
install / upgrade / uninstall cycle. Module-scoped: the tests of test_msi_wine.py run in file order."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from installer.winbuild.build import Build, build
from installer.winbuild.msi import build_msi
from installer.winbuild.targets import WIN10
from installer.winbuild.wine import WinePrefix, new_prefix
from tests.windows.desktop import Desktop
from tests.windows.machine import INSTALL_DIR, TRAY_EXE, Machine, uninstall_key

__all__ = ["INSTALL_DIR", "TRAY_EXE", "UPGRADE_VERSION", "Machine", "uninstall_key"]
HERE = Path(__file__).resolve().parent
UPGRADE_VERSION = "0.1.1"  # ProductVersion of the second MSI (same bundle), above pyproject's


@pytest.fixture(scope="session")
def windows_build() -> Build:
    """The MSI of this checkout (built once; reused from ~/.cache/certassist-build when unchanged)."""
    return build(WIN10)


@pytest.fixture(scope="session")
def upgrade_msi(windows_build: Build) -> Path:
    assert windows_build.version != UPGRADE_VERSION
    return build_msi(WIN10, windows_build.bundle, UPGRADE_VERSION)


@pytest.fixture(scope="module")
def machine(windows_build: Build, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    with Desktop() as desktop:
        prefix = new_prefix(tmp_path_factory.mktemp("wine"), display=desktop.display)
        _add_test_token_module(prefix, tmp_path_factory.mktemp("testp11"))
        try:
            yield Machine(prefix, desktop, windows_build)
        finally:
            prefix.kill()


def _add_test_token_module(prefix: WinePrefix, scratch: Path) -> None:
    """A PKCS#11 module in System32 and a user token profile naming it as %SystemRoot%\\System32\\…"""
    dll = scratch / "certassist-testp11.dll"
    subprocess.run(
        [
            "x86_64-w64-mingw32-gcc",
            "-O2",
            "-shared",
            "-Wno-cast-function-type",
            "-o",
            str(dll),
            str(HERE / "testp11.c"),
        ],
        check=True,
    )
    (prefix.drive_c / "windows" / "system32" / dll.name).write_bytes(dll.read_bytes())
    profiles = prefix.profile / "AppData" / "Local" / "CertAssist" / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    profile = {
        "id": "certassist-test",
        "vendor": "CertAssist test module (no slots)",
        "match": {"manufacturer": ["CertAssist test"], "atr": []},
        "modules": {"windows": [r"%SystemRoot%\System32\certassist-testp11.dll"]},
        "sm2": None,
    }
    (profiles / "test-module.json").write_text(json.dumps({"version": 1, "profiles": [profile]}), encoding="utf-8")
