"""`certassist token list/info/change-pin/unblock` and `certassist diag` on a soft SKF key, as a user runs them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from app.cli.errors import ExitCode
from drivers.errors import PinIncorrect, PinLocked
from drivers.skf import SkfBackend
from tests.integration.test_cli_token_diag import certassist
from tests.softskf import ADMIN_PIN, USER_PIN, USER_TRIES, SoftSkf

pytestmark = pytest.mark.integration
NEW_PIN = "13572468"


def run(args: List[str], stdin: str = "", env: Optional[Dict[str, str]] = None) -> Tuple[int, str, str]:
    result = certassist(args, stdin, env)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def skf_devices(out: str) -> List[Dict[str, object]]:
    """The SKF devices of `token list --json` (other tests' SoftHSM2 tokens may be there too)."""
    return [d for d in json.loads(out)["devices"] if d["backend"] == "skf"]


def serial_of(softskf: SoftSkf) -> str:
    code, out, err = run(["token", "list", "--json", "--skf-module", str(softskf.library)])
    assert code == 0, err
    [device] = skf_devices(out)
    return str(device["serial"])


def test_list_from_option_environment_and_settings(softskf: SoftSkf) -> None:
    code, out, err = run(["token", "list", "--skf-module", str(softskf.library)])
    assert code == 0, err
    assert "hard  skf     SoftSKF  serial " in out
    env = dict(os.environ, CERTASSIST_SKF_MODULES=str(softskf.library))
    code, out, _ = run(["token", "list", "--json"], env=env)
    [device] = skf_devices(out)
    assert (device["manufacturer"], device["kind"]) == ("CertAssist SoftSKF", "hard")
    settings = Path(os.environ["CERTASSIST_HOME"]) / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"skf_modules": [str(softskf.library)]}))
    code, out, _ = run(["token", "list", "--json"])
    assert code == 0 and [d["serial"] for d in skf_devices(out)] == [device["serial"]]


def test_no_library_means_no_device_and_a_missing_one_is_named(softskf: SoftSkf) -> None:
    code, out, _ = run(["token", "list", "--json"])
    assert skf_devices(out) == [] and (code == ExitCode.NOT_FOUND) == (json.loads(out)["devices"] == [])
    code, out, _ = run(["token", "list", "--json", "--skf-module", "/nowhere/libskf.so"])
    assert skf_devices(out) == []
    assert json.loads(out)["problems"]["skf"] == "/nowhere/libskf.so: SKF library /nowhere/libskf.so not found. " + (
        "install the USB key's driver or fix the path"
    )


def test_info_change_pin_and_unblock(softskf: SoftSkf) -> None:
    module = ["--skf-module", str(softskf.library)]
    serial = serial_of(softskf)
    code, out, err = run(["token", "info", "--json", "--device", serial, *module])
    assert code == 0, err
    info = json.loads(out)
    assert info["pin"] == {"max_retries": USER_TRIES, "remaining": USER_TRIES, "locked": False, "low": False}
    assert info["containers"] == [] and "sm2_keygen" in info["capabilities"] and info["pin_bounds"] == [6, 16]

    code, _, err = run(["token", "change-pin", "--device", serial, "--pin-stdin", *module], f"00000000\n{NEW_PIN}\n")
    assert code == ExitCode.FAILED_CHECK and "wrong PIN; 9 tries left [0x0A000024]" in err
    code, _, err = run(["token", "change-pin", "--device", serial, "--pin-stdin", *module], f"{USER_PIN}\n1234\n")
    assert code == ExitCode.USAGE and "6-16 characters" in err
    code, out, err = run(
        ["token", "change-pin", "--device", serial, "--pin-stdin", *module], f"{USER_PIN}\n{NEW_PIN}\n"
    )
    assert code == 0 and "修改PIN码成功" in out, err

    with SkfBackend([str(softskf.library)]).devices()[0].open() as session:  # spend the tries quickly, in-process
        for _ in range(USER_TRIES):
            with pytest.raises((PinIncorrect, PinLocked)):
                session.login("00000000")
    code, out, _ = run(["token", "info", "--device", serial, *module])
    assert "PIN: LOCKED" in out
    code, _, err = run(["token", "unblock", "--device", serial, "--pin-stdin", *module], f"{ADMIN_PIN}\n{USER_PIN}\n")
    assert code == ExitCode.USAGE  # the vendor default 12345678 is too weak to be set again: refused, no try spent
    code, _, err = run(["token", "unblock", "--device", serial, "--pin-stdin", *module], f"wrongadmin\n{NEW_PIN}\n")
    assert code == ExitCode.FAILED_CHECK and "wrong admin credential; 4 tries left" in err
    code, out, err = run(["token", "unblock", "--device", serial, "--pin-stdin", *module], f"{ADMIN_PIN}\n{NEW_PIN}\n")
    assert code == 0 and "解锁成功" in out, err
    code, out, _ = run(["token", "info", "--device", serial, *module])
    assert f"PIN: {USER_TRIES} tries left" in out


def test_removed_key_is_a_device_error(softskf: SoftSkf) -> None:
    serial = serial_of(softskf)
    softskf.remove()
    code, _, err = run(["token", "info", "--device", serial, "--skf-module", str(softskf.library)])
    assert code == ExitCode.NOT_FOUND and f"no device {serial!r}" in err


def test_diag_reports_the_library_its_version_and_sm2(softskf: SoftSkf, tmp_path: Path) -> None:
    broken = tmp_path / "libbroken.so"
    broken.write_bytes(b"\x7fELF garbage")
    args = ["diag", "--json", "--skf-module", str(softskf.library), "--skf-module", str(broken)]
    code, out, err = run(args)
    assert code == 0, err
    report = json.loads(out)
    section = report["backends"]["skf"]
    assert section["available"] is True
    good, bad = section["libraries"]
    assert (good["path"], good["loaded"], good["profile"], good["calling_convention"]) == (
        str(softskf.library),
        True,
        None,  # the file name is not in a profile; the device's manufacturer is
        "cdecl",
    )
    [device] = good["devices"]
    assert (device["version"], device["firmware_version"], device["alg_asym_cap"]) == ("1.0", "1.2", "0x00020500")
    assert device["sm2"] and device["sm3"] and device["sm4"]
    assert bad["loaded"] is False and "could not be loaded" in bad["error"]
    [skf_device] = [d for d in report["devices"] if d["backend"] == "skf"]
    assert skf_device["pin"]["remaining"] == USER_TRIES and "profile softskf" in skf_device["detail"]
    code, out, _ = run(["diag", "--skf-module", str(softskf.library)])
    assert f"library {softskf.library}: loaded" in out
    assert "SM2=yes SM3=yes SM4=yes" in out and "version 1.0 hardware 1.0 firmware 1.2" in out
