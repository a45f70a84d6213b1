"""Issue 14: the Windows 7 MSI (Python 3.8, PySide2, cryptography < 43, OpenSSL 3 from a registry package),
installed silently under Wine reporting Windows 7 SP1 with none of the Windows 10 stand-in DLLs, used from
the command line (signatures checked by the Linux openssl) and the tray, replaced by the main MSI and back
(one upgrade family), and removed."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Dict, List

import pytest

from drivers.pkcs11.backend import NOT_IN_THIS_BUILD
from drivers.soft import SoftBackend
from installer.winbuild.build import Build
from installer.winbuild.msi import build_msi, read_table, table_names
from installer.winbuild.pescan import _exports, _load, check_windows7, scan
from installer.winbuild.targets import WIN7, WIN10
from installer.winbuild.wine import STANDIN_DLLS, windows_path
from tests.conftest import FAST_KDF, REPO
from tests.windows.machine import INSTALL_DIR, TRAY_EXE, Machine, check_sm2_signature_with_openssl, uninstall_key

# a cold build takes minutes; the build runs from the main environment (uv, pefile), so not in the 3.8 pass
pytestmark = [pytest.mark.win7, pytest.mark.integration, pytest.mark.main_python, pytest.mark.timeout(1800)]
OUTPUT = REPO / "test-output"
SERVICE_URL = "https://ca.example.cn/"
MACHINE_KEY = r"HKLM\Software\CertAssist"
UPGRADE_VERSION = "0.1.1"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _shortcuts(machine: Machine) -> List[Path]:
    roots = [machine.drive_c / "users", machine.drive_c / "ProgramData"]
    return [p for root in roots for p in root.rglob("*.lnk") if "证书助手" in str(p)]


def _user_data(machine: Machine) -> Dict[str, str]:
    home = machine.user_home
    return {str(p.relative_to(home)): _sha256(p) for p in home.rglob("*") if p.is_file()} if home.exists() else {}


def test_bundle_is_python38_pyside2_cryptography42_with_openssl3_and_loads_on_windows_7(win7_build: Build) -> None:
    internal = win7_build.folder / "_internal"
    assert (internal / "python38.dll").is_file() and not list(internal.glob("python3[19]*.dll"))
    assert (internal / "PySide2" / "Qt5Core.dll").is_file() and not (internal / "PySide6").exists()
    assert [p.name for p in internal.glob("cryptography-*.dist-info")] == ["cryptography-42.0.8.dist-info"]
    assert not (internal / "pkcs11").exists()  # python-pkcs11 has no Windows wheel for Python 3.8
    assert WIN7.libcrypto is not None and _sha256(internal / "libcrypto-3.dll") == WIN7.libcrypto.sha256
    assert "OpenSSL_version_num" in _exports(_load(internal / "libcrypto-3.dll"))[0]
    names = {p.name.lower() for p in win7_build.folder.rglob("*")}
    assert names.isdisjoint(STANDIN_DLLS)
    assert scan(win7_build.folder) == []  # the build ran this too; here it is the test of the real bundle
    assert check_windows7(win7_build.folder) > 40


def test_msi_has_the_main_msis_features_properties_and_upgrade_family(win7_build: Build) -> None:
    msi = win7_build.msi
    assert msi.name == f"certassist-{win7_build.version}-win7-x64.msi"
    assert msi.stat().st_size <= 70_000_000, f"{msi.stat().st_size / 1e6:.1f} MB"
    properties = {row[0]: row[1] for row in read_table(msi, "Property").rows}
    assert properties["ProductName"] == "证书助手 CertAssist"
    assert properties["UpgradeCode"] == "{8BD622D2-B12D-4DC0-BB13-1C6FF4EE08F0}"  # the main MSI's
    assert {"SERVICEURL", "AUTOSTART", "LANGUAGE"} <= set(properties["SecureCustomProperties"].split(";"))
    shortcuts = {row[0]: row[2] for row in read_table(msi, "Shortcut").rows}
    assert shortcuts["DesktopTray"].endswith("|启动证书助手_标准版") and shortcuts["StartMenuTray"].endswith(
        "|证书助手"
    )
    features = [row[0] for row in read_table(msi, "Feature").rows]
    assert features == ["Complete"]
    upgrade = {row[6]: int(row[4]) for row in read_table(msi, "Upgrade").rows}
    assert upgrade["WIX_UPGRADE_DETECTED"] & 0x200  # the same version of the other build is replaced
    assert upgrade["WIX_DOWNGRADE_DETECTED"] & 0x2  # a higher version is only detected (and refused)
    conditions = {row[0]: row[1] for row in read_table(msi, "LaunchCondition").rows}
    assert "KB2999226" in conditions["Installed OR UCRTBASE"]
    assert "Windows 7 SP1" in conditions["Installed OR VersionNT > 601 OR (VersionNT = 601 AND ServicePackLevel >= 1)"]
    locator = read_table(msi, "DrLocator").rows
    assert locator == [["UcrtBase", "", "[System64Folder]", "0"]]


def _installed_things(msi: Path, table: str) -> List[List[str]]:
    """A table's rows less those wixl-heat made for the bundle's files and folders (``cmp…``/``dir…``/``fil…``)."""
    harvested = re.compile(r"(cmp|dir|fil)[0-9A-F]{32}")
    return sorted(row for row in read_table(msi, table).rows if not any(harvested.fullmatch(c) for c in row[:2]))


def test_msi_installs_what_the_main_msi_installs_but_the_bundle(win7_build: Build, main_build: Build) -> None:
    """Every table of the two MSIs is the same (features, properties, shortcuts, registry, Run key, launch
    conditions, custom actions, sequences, upgrade rows, the browser bridge's host manifest and its keys),
    apart from the bundle's files and the ProductCode. The tables are compared as a set: the order
    ``msiinfo tables`` lists them in is an artefact of how the database stores them, not part of what is
    installed (builds of the same source list DrLocator before or after Shortcut, depending on the bundle)."""
    win7, main = win7_build.msi, main_build.msi
    assert sorted(table_names(win7)) == sorted(table_names(main))
    bundle_only = {"File", "MsiFileHash", "Media"}
    for table in sorted(set(table_names(main)) - bundle_only):
        ours, theirs = _installed_things(win7, table), _installed_things(main, table)
        if table == "Property":
            ours = [row for row in ours if row[0] != "ProductCode"]
            theirs = [row for row in theirs if row[0] != "ProductCode"]
        assert ours == theirs, table
    # files outside the bundle (the native-messaging host's manifest): the same, but for their place in the cabinet
    files = read_table(main, "File")
    sequence = files.columns.index("Sequence")
    ours, theirs = ([r[:sequence] + r[sequence + 1 :] for r in _installed_things(m, "File")] for m in (win7, main))
    assert ours == theirs and [r[0] for r in theirs] == ["NativeHostManifest"], theirs
    assert _installed_things(win7, "MsiFileHash") == _installed_things(main, "MsiFileHash")
    components = [row[0] for row in _installed_things(main, "Component")]
    assert components == ["BrowserBridgeHost", "DesktopShortcut", "MachineDefaults", "RunAtLogin", "StartMenuShortcuts"]


def test_the_machine_is_windows_7_sp1_without_stand_ins(win7_machine: Machine) -> None:
    values = win7_machine.reg(r"HKLM\Software\Microsoft\Windows NT\CurrentVersion")
    assert values is not None
    assert (values["CurrentVersion"], values["CurrentBuildNumber"], values["CSDVersion"]) == (
        "6.1",
        "7601",
        "Service Pack 1",
    )
    system32 = win7_machine.drive_c / "windows" / "system32"
    for name in STANDIN_DLLS:  # absent, or Wine's own placeholder for its built-in DLL (mscms.dll)
        path = system32 / name
        assert not path.exists() or b"Wine builtin DLL" in path.read_bytes()[:128], path
    assert win7_machine.reg(r"HKCU\Software\Wine\AppDefaults\certassist.exe\DllOverrides") is None


def test_without_the_ucrt_the_install_is_refused(win7_machine: Machine, tmp_path: Path) -> None:
    """Windows 7 without KB2999226: the launch condition stops the install before anything is written.
    Wine's own msiexec needs ucrtbase.dll, so the file cannot go; a copy of the MSI searches for one that is
    not there instead (the real search finds ucrtbase.dll in the next test)."""
    msi = tmp_path / win7_machine.build.msi.name
    shutil.copy2(win7_machine.build.msi, msi)
    query = "UPDATE `Signature` SET `FileName`='ucrtbase-absent.dll' WHERE `Signature`='UcrtBase'"
    subprocess.run(["msibuild", str(msi), "-q", query], check=True)
    code = win7_machine.msiexec("/i", windows_path(msi), "/qn")
    assert code in (1603, 1603 & 0xFF)
    assert not win7_machine.program_files().exists()
    assert win7_machine.reg(uninstall_key(win7_machine.build.version, WIN7)) is None


def test_silent_install_without_stand_ins(win7_machine: Machine) -> None:
    started = time.monotonic()
    code = win7_machine.msiexec(
        "/i", windows_path(win7_machine.build.msi), "/qn", f"SERVICEURL={SERVICE_URL}", "AUTOSTART=1"
    )
    (OUTPUT / "win7-install-seconds.txt").parent.mkdir(exist_ok=True)
    (OUTPUT / "win7-install-seconds.txt").write_text(f"{time.monotonic() - started:.1f}\n")
    assert code == 0
    installed = win7_machine.program_files()
    assert (installed / "certassist.exe").is_file() and (installed / "certassist-tray.exe").is_file()
    assert (installed / "_internal" / "python38.dll").is_file()
    assert sorted(p.name for p in _shortcuts(win7_machine)) == ["启动证书助手_标准版.lnk", "证书助手.lnk"]
    assert win7_machine.reg(MACHINE_KEY) == {
        "AutoStart": "1",
        "InstallDir": INSTALL_DIR + "\\",
        "Language": "zh_CN",
        "ServiceUrl": SERVICE_URL,
        "Version": win7_machine.build.version,
    }
    arp = win7_machine.reg(uninstall_key(win7_machine.build.version, WIN7))
    assert arp is not None and (arp["DisplayName"], arp["DisplayVersion"]) == (
        "证书助手 CertAssist",
        win7_machine.build.version,
    )


def test_installed_command_line_signs_with_sm2_for_openssl(
    win7_machine: Machine, tmp_path: Path, openssl_bin: str
) -> None:
    check_sm2_signature_with_openssl(win7_machine, tmp_path, openssl_bin, "证书助手 Windows 7 签名测试\n")


def test_installed_diagnostics_say_pkcs11_is_not_in_this_build(win7_machine: Machine) -> None:
    code, out = win7_machine.certassist("diag", "--json")
    report = json.loads(out)
    assert report["smart_card_service"]["name"] == "SCardSvr"
    pkcs11 = report["backends"]["pkcs11"]
    assert pkcs11["available"] is False and pkcs11["detail"].startswith(NOT_IN_THIS_BUILD[0]), pkcs11
    assert "SKF" in pkcs11["detail"]
    assert "skf" in report["backends"] and "pcsc" in report["backends"]
    soft = report["backends"]["soft"]
    assert "WinVaultKeyring" in soft["detail"], soft
    assert soft["directory"].endswith(r"AppData\Local\CertAssist\keystores")
    code, out = win7_machine.certassist("--help", lang="en_US.UTF-8")  # code page 1252
    assert code == 0 and "--autostart" in out


def test_tray_starts_at_login_on_windows_7(win7_machine: Machine) -> None:
    win7_machine.restart()
    before = set(win7_machine.desktop.windows())
    started = time.monotonic()
    win7_machine.login()  # HKLM Run: certassist-tray.exe --autostart, with AUTOSTART=1
    icon = win7_machine.wait_for_tray_icon(before)
    ready = time.monotonic() - started
    assert len(win7_machine.tray_processes()) == 1
    time.sleep(2)  # the guide's login box pops up once the first scan is done
    OUTPUT.mkdir(exist_ok=True)
    shot = str(OUTPUT / "win7-tray-menu.png")
    above_icon = (icon["X"] + icon["WIDTH"] - 300, icon["Y"] - 360, icon["X"] + icon["WIDTH"], icon["Y"])
    before_click = win7_machine.desktop.light_pixels(str(OUTPUT / "win7-tray-login.png"), above_icon)
    win7_machine.desktop.click(icon["X"] + icon["WIDTH"] // 2, icon["Y"] + icon["HEIGHT"] // 2, button=3)
    deadline = time.monotonic() + 20
    while win7_machine.desktop.light_pixels(shot, above_icon) < before_click + 5000:  # the menu above the icon
        assert time.monotonic() < deadline, "the right click opened no menu (see test-output/win7-tray-menu.png)"
        time.sleep(0.5)
    (OUTPUT / "win7-tray-ready-seconds.txt").write_text(f"{ready:.1f}\n")
    win7_machine.desktop.click(10, 10)
    second = win7_machine.prefix.popen([TRAY_EXE])  # the shortcut again: the running tray is brought up
    assert second.wait(60) == 0
    assert len(win7_machine.tray_processes()) == 1
    win7_machine.prefix.kill()


def test_one_upgrade_family_with_the_main_msi(win7_machine: Machine, main_build: Build, tmp_path: Path) -> None:
    """A Windows 7 machine upgraded to Windows 10 takes the main MSI of the same version over the Windows 7
    build; a later Windows 7 MSI replaces the main build again; an older version of either is refused."""
    machine, version = win7_machine, win7_machine.build.version
    assert main_build.version == version
    keystores = machine.user_home / "keystores"
    SoftBackend(keystores, tmp_path / "secrets.json", kdf=FAST_KDF).create_device("软证书 换包测试", "246810")
    before = _user_data(machine)
    assert machine.msiexec("/i", windows_path(main_build.msi), "/qn") == 0  # the main MSI, same version
    assert machine.reg(uninstall_key(version, WIN7)) is None
    assert machine.reg(uninstall_key(version, WIN10)) is not None
    internal = machine.program_files() / "_internal"
    assert (internal / "python312.dll").is_file() and not (internal / "python38.dll").exists()
    assert not (internal / "PySide2").exists()
    values = machine.reg(MACHINE_KEY)
    assert values is not None and (values["ServiceUrl"], values["AutoStart"]) == (SERVICE_URL, "1")  # remembered
    assert sorted(p.name for p in _shortcuts(machine)) == ["启动证书助手_标准版.lnk", "证书助手.lnk"]
    assert _user_data(machine) == before

    upgrade = build_msi(WIN7, machine.build.bundle, UPGRADE_VERSION)
    assert machine.msiexec("/i", windows_path(upgrade), "/qn") == 0  # a higher Windows 7 build replaces it
    assert machine.reg(uninstall_key(version, WIN10)) is None
    assert machine.reg(uninstall_key(UPGRADE_VERSION, WIN7)) is not None
    assert (internal / "python38.dll").is_file() and not (internal / "python312.dll").exists()
    code = machine.msiexec("/i", windows_path(main_build.msi), "/qn")  # main 0.1.0 below win7 0.1.1
    assert code in (1603, 1603 & 0xFF)
    assert machine.reg(uninstall_key(version, WIN10)) is None
    code, out = machine.certassist("token", "list", "--json")
    assert code == 0 and [d["label"] for d in json.loads(out)["devices"]] == ["软证书 换包测试"], out

    assert machine.msiexec("/x", windows_path(upgrade), "/qn") == 0
    assert not machine.program_files().exists() or list(machine.program_files().rglob("*")) == []
    assert _shortcuts(machine) == [] and machine.reg(MACHINE_KEY) is None
    assert machine.reg(uninstall_key(UPGRADE_VERSION, WIN7)) is None
    assert _user_data(machine) == before  # the user's keystore stays
