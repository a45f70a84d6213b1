"""The Windows 7 build under Wine: built once (cached by its inputs), installed into a fresh prefix that
reports Windows 7 SP1 and holds none of the Windows 10 stand-in DLLs. Module-scoped like tests/windows:
the tests of test_win7_wine.py run in file order on one machine."""

from __future__ import annotations

import sys
from typing import Iterator

import pytest

from installer.winbuild.build import Build, build
from installer.winbuild.targets import WIN7, WIN10
from installer.winbuild.wine import new_prefix
from tests.windows.desktop import Desktop
from tests.windows.machine import Machine

if sys.version_info < (3, 10):  # the Python 3.8 pass: the build and its import scan (pefile) run from .venv
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def win7_build() -> Build:
    """dist/certassist-<version>-win7-x64.msi of this checkout (reused from the build cache when unchanged)."""
    return build(WIN7)


@pytest.fixture(scope="session")
def main_build() -> Build:
    """The main MSI (Windows 10/11), for the upgrade-family test; tests/windows builds the same one first."""
    return build(WIN10)


@pytest.fixture(scope="module")
def win7_machine(win7_build: Build, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    with Desktop() as desktop:
        prefix = new_prefix(tmp_path_factory.mktemp("wine7"), display=desktop.display, standins=False)
        try:
            yield Machine(prefix, desktop, win7_build)
        finally:
            prefix.kill()
