"""The Windows delivery under Wine: one build (cached by its inputs), one fresh prefix, one
install / upgrade / uninstall cycle. Module-scoped: the tests of test_msi_wine.py run in file order."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

from installer.winbuild.build import Build, build
from installer.winbuild.msi import build_msi, product_code
from installer.winbuild.targets import WIN10
from installer.winbuild.wine import WinePrefix, new_prefix
from tests.windows.desktop import Desktop

HERE = Path(__file__).resolve().parent
INSTALL_DIR = r"C:\Program Files\CertAssist"
CONSOLE_EXE = INSTALL_DIR + r"\certassist.exe"
TRAY_EXE = INSTALL_DIR + r"\certassist-tray.exe"
CODE_PAGES = {"zh_CN.UTF-8": "gbk", "en_US.UTF-8": "cp1252"}
UPGRADE_VERSION = "0.1.1"  # ProductVersion of the second MSI (same bundle), above pyproject's


@pytest.fixture(scope="session")
def windows_build() -> Build:
    """The MSI of this checkout (built once; reused from ~/.cache/certassist-build when unchanged)."""
    return build(WIN10)


@pytest.fixture(scope="session")
def upgrade_msi(windows_build: Build) -> Path:
    assert windows_build.version != UPGRADE_VERSION
    return build_msi(WIN10, windows_build.bundle, UPGRADE_VERSION)


@dataclass
class Machine:
    """A Windows machine: a fresh Wine prefix on an X display with a tray host."""

    prefix: WinePrefix
    desktop: Desktop
    build: Build

    @property
    def drive_c(self) -> Path:
        return self.prefix.drive_c

    @property
    def local_appdata(self) -> Path:
        return self.prefix.profile / "AppData" / "Local"

    @property
    def user_home(self) -> Path:
        """CERTASSIST_HOME of the installed app: %LOCALAPPDATA%\\CertAssist."""
        return self.local_appdata / "CertAssist"

    def program_files(self) -> Path:
        return self.drive_c / "Program Files" / "CertAssist"

    def run(self, args: List[str], lang: str = "zh_CN.UTF-8", timeout: float = 120) -> Tuple[int, str]:
        result = self.prefix.run(args, timeout=timeout, lang=lang)
        return result.returncode, result.stdout.decode(CODE_PAGES[lang], "replace")

    def certassist(self, *args: str, lang: str = "zh_CN.UTF-8") -> Tuple[int, str]:
        return self.run([CONSOLE_EXE, *args], lang=lang)

    def msiexec(self, *args: str, timeout: float = 600) -> int:
        return self.prefix.run(["msiexec", *args], timeout=timeout).returncode

    def reg(self, key: str) -> Optional[Dict[str, str]]:
        """The values of a registry key (None when the key does not exist)."""
        code, out = self.run(["reg", "query", key])
        if code != 0:
            return None
        values: Dict[str, str] = {}
        for line in out.splitlines():
            found = re.match(r"^\s{4}(\S.*?)\s{4}(REG_\w+)\s{4}(.*)$", line)
            if found:
                values[found.group(1)] = found.group(3).strip()
            elif re.match(r"^\s{4}(\S.*?)\s{4}(REG_\w+)\s*$", line):
                values[line.split()[0]] = ""
        return values

    def tray_processes(self) -> List[int]:
        """PIDs of certassist-tray.exe running in this prefix (other checkouts' prefixes excluded)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if b"certassist-tray.exe" in cmdline and f"WINEPREFIX={self.prefix.path}".encode() in environ:
                pids.append(int(entry.name))
        return pids

    def login(self) -> None:
        """What happens when the user logs in: wineboot's normal start runs the HKLM and HKCU Run entries."""
        self.prefix.start()
        subprocess.run(
            ["wine", "wineboot"],
            env=self.prefix.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
            check=True,
        )

    def restart(self) -> None:
        self.prefix.kill()
        self.prefix.start()


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


def uninstall_key(version: str) -> str:
    return rf"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\{{{product_code(WIN10, version)}}}"
