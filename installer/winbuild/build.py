"""The whole build, as one function: Windows Python -> bundle -> MSI, each step cached by its inputs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from installer.winbuild.bundle import build_bundle, project_version
from installer.winbuild.cache import build_lock, cache_root
from installer.winbuild.msi import build_msi
from installer.winbuild.pyenv import python_env
from installer.winbuild.targets import Target
from installer.winbuild.wine import check_tools


@dataclass
class Build:
    target: Target
    version: str
    python: Path  # the Windows interpreter folder
    bundle: Path  # cache entry: certassist/ (onedir) + certassist.ico
    msi: Path  # cached MSI

    @property
    def folder(self) -> Path:
        return self.bundle / "certassist"


def build(target: Target, version: Optional[str] = None, say: Callable[[str], None] = print) -> Build:
    """Build (or reuse) the bundle and the MSI. ``version`` overrides the MSI's ProductVersion only."""
    check_tools()
    version = version or project_version()
    with build_lock():
        started = time.monotonic()
        python = python_env(target)
        say(f"windows python: {python} ({time.monotonic() - started:.0f} s)")
        log = cache_root() / f"pyinstaller-{target.name}.log"
        bundle = build_bundle(target, python, log)
        say(f"bundle: {bundle / 'certassist'} ({time.monotonic() - started:.0f} s)")
        if target.windows7_scan:  # on every build, cached bundle or not: the rules may have changed
            from installer.winbuild.pescan import check_windows7  # pefile: only the build machine's .venv has it

            checked = check_windows7(bundle / "certassist")
            say(f"import tables: {checked} binaries, nothing Windows 7 SP1 + KB2999226 lacks")
        msi = build_msi(target, bundle, version)
        say(f"msi: {msi} ({msi.stat().st_size / 1e6:.1f} MB, {time.monotonic() - started:.0f} s)")
    return Build(target, version, python, bundle, msi)
