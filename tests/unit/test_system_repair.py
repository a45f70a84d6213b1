"""环境修复's system repairs: offered only where this system has a way to make them, and real where it does."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Dict, Optional

import pytest

from app.system_repair import smartcard_service_starter, user_trust_store
from tests.pki import make_pki


def which_of(found: Dict[str, str]):  # type: ignore[no-untyped-def]
    def which(name: str) -> Optional[str]:
        return found.get(name)

    return which


def test_smartcard_service_start_is_offered_only_where_it_exists() -> None:
    tools = {"systemctl": "/usr/bin/systemctl", "pkexec": "/usr/bin/pkexec"}
    windows = smartcard_service_starter("win32", which_of({}))
    assert windows is not None and windows.command == ["sc.exe", "start", "SCardSvr"] and windows.elevated
    assert smartcard_service_starter("darwin", which_of(tools)) is None  # built in
    assert smartcard_service_starter("linux", which_of(tools), systemd_running=False) is None  # no systemd here
    as_root = smartcard_service_starter("linux", which_of(tools), systemd_running=True, is_root=True)
    assert as_root is not None and as_root.command == ["/usr/bin/systemctl", "start", "pcscd.socket", "pcscd.service"]
    as_user = smartcard_service_starter("linux", which_of(tools), systemd_running=True, is_root=False)
    assert as_user is not None and as_user.command[:2] == ["/usr/bin/pkexec", "/usr/bin/systemctl"]
    no_pkexec = {"systemctl": "/usr/bin/systemctl"}
    assert smartcard_service_starter("linux", which_of(no_pkexec), systemd_running=True, is_root=False) is None


def test_no_trust_store_is_offered_without_the_tool_or_the_database(tmp_path: Path) -> None:
    assert user_trust_store("linux", which_of({}), tmp_path) is None
    assert user_trust_store("linux", which_of({"certutil": "/usr/bin/certutil"}), tmp_path) is None  # no nssdb
    windows = user_trust_store("win32", which_of({"certutil.exe": "C:/Windows/System32/certutil.exe"}))
    assert windows is not None and windows.kind == "windows"


def make_nss_home(home: Path) -> Path:
    """A home folder with an empty NSS database in .pki/nssdb (where Chromium and Firefox on Linux look)."""
    if shutil.which("certutil") is None:
        pytest.fail("NSS certutil is required (./test.sh installs libnss3-tools)")
    database = home / ".pki" / "nssdb"
    database.mkdir(parents=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{database}", "--empty-password"], check=True)
    return home


@pytest.fixture()
def nss_home(tmp_path: Path) -> Path:
    return make_nss_home(tmp_path)


def test_the_root_certificate_goes_into_the_users_nss_store(nss_home: Path) -> None:
    store = user_trust_store("linux", home=nss_home)
    assert store is not None and store.kind == "nss"
    pki, other = make_pki(), make_pki()
    assert not store.contains(pki.root)
    store.install(pki.root)
    assert store.contains(pki.root) and not store.contains(other.root)
    listed = subprocess.run(["certutil", "-d", store.database, "-L"], capture_output=True, text=True, check=True).stdout
    line = next(line for line in listed.splitlines() if line.startswith(store.nickname(pki.root)))
    assert line.split()[-1] == "C,,"  # trusted to issue server certificates
