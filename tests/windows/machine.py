"""A Windows machine under Wine for the MSI tests (tests/windows and tests/windows7): a Wine prefix on an X
display with a tray host, and what a user or administrator does on it."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from installer.winbuild.build import Build
from installer.winbuild.msi import product_code
from installer.winbuild.targets import WIN10, Target
from installer.winbuild.wine import WinePrefix, windows_path
from tests.windows.desktop import Desktop

INSTALL_DIR = r"C:\Program Files\CertAssist"
CONSOLE_EXE = INSTALL_DIR + r"\certassist.exe"
TRAY_EXE = INSTALL_DIR + r"\certassist-tray.exe"
CODE_PAGES = {"zh_CN.UTF-8": "gbk", "en_US.UTF-8": "cp1252"}


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

    def wait_for_tray_icon(self, before: Set[str], seconds: float = 90) -> Dict[str, int]:
        """The geometry of a tray icon docked since ``before`` (the windows then), within ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            icon = self.desktop.new_tray_icon(before)
            if icon is not None:
                return icon
            time.sleep(0.5)
        raise AssertionError(f"no tray icon docked; certassist-tray processes: {self.tray_processes()}")


def uninstall_key(version: str, target: Target = WIN10) -> str:
    return rf"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\{{{product_code(target, version)}}}"


def check_sm2_signature_with_openssl(machine: Machine, tmp_path: Path, openssl_bin: str, text: str) -> None:
    """The installed ``certassist.exe`` makes an SM2 key and signs ``text``; Linux ``openssl`` verifies the
    signature and refuses it once the file changed."""
    code, out = machine.certassist("--version")
    assert (code, out.strip()) == (0, f"certassist, version {machine.build.version}")
    message = tmp_path / "合同.txt"
    message.write_text(text, encoding="utf-8")
    key, public, signature = tmp_path / "sm2.key", tmp_path / "sm2.pub", tmp_path / "msg.sig"
    code, out = machine.certassist("crypto", "keygen", "-o", windows_path(key), "--pubout", windows_path(public))
    assert code == 0, out
    code, out = machine.certassist(
        "crypto", "sign", "-k", windows_path(key), "-o", windows_path(signature), windows_path(message)
    )
    assert code == 0, out
    verify = [openssl_bin, "dgst", "-sm3", "-verify", str(public), "-sigopt", "distid:1234567812345678"]
    verified = subprocess.run(
        [*verify, "-signature", str(signature), str(message)], capture_output=True, text=True, check=False
    )
    assert verified.returncode == 0 and "Verified OK" in verified.stdout, verified.stdout + verified.stderr
    message.write_text("changed\n", encoding="utf-8")
    tampered = subprocess.run(
        [*verify, "-signature", str(signature), str(message)], capture_output=True, text=True, check=False
    )
    assert tampered.returncode != 0
