"""`certassist token …` and `certassist diag` as a user runs them, with a SoftHSM2 token, an emulated
PC/SC card and a soft keystore present at the same time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

from app.cli.errors import ExitCode
from drivers.model import KeyUsage
from drivers.soft import SoftBackend
from gm.sm2 import SM2PublicKey
from gm.x509 import build_certificate
from tests.cardemu import PROFILE, PinApplet, VirtualCard
from tests.conftest import FAST_KDF
from tests.integration.test_pcsc_vpcd import READER, card_present, wait_for
from tests.pki import make_pki
from tests.softhsm import SO_PIN, USER_PIN, SoftHsm

pytestmark = pytest.mark.integration
SOFT_PIN = "246810"


def certassist(args: List[str], stdin: str = "", env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        input=stdin.encode(),
        capture_output=True,
        env=env or os.environ.copy(),
        timeout=120,
        check=False,
    )


@pytest.fixture()
def everything(softhsm: SoftHsm, pcscd: None) -> Iterator[Dict[str, str]]:
    """One device of each kind: a soft keystore with a certificate, a SoftHSM2 token, a virtual card."""
    home = Path(os.environ["CERTASSIST_HOME"])
    (home / "profiles").mkdir(parents=True, exist_ok=True)
    (home / "profiles" / "virtual-card.json").write_text(json.dumps(PROFILE))
    device, _ = SoftBackend(kdf=FAST_KDF).create_device("软证书 测试", SOFT_PIN)
    pki = make_pki()
    with device.open() as session:
        session.login(SOFT_PIN)
        session.create_container("测试")
        public = SM2PublicKey.from_der(session.generate_key("测试"))
        cert = build_certificate(
            subject={"common_name": "测试"},
            public_key=public,
            issuer=pki.ca,
            issuer_key=pki.ca_key,
            not_after=datetime.now(timezone.utc) + timedelta(days=20),
        )
        session.write_certificate("测试", KeyUsage.SIGN, cert)
    token_label = softhsm.new_token()
    card = VirtualCard(PinApplet("123456", "87654321"))
    card.insert()
    try:
        wait_for(card_present)
        yield {"soft_serial": device.info.serial, "token_label": token_label}
    finally:
        card.remove()
        wait_for(lambda: not card_present())


def test_diag_json_lists_one_device_of_each_kind(everything: Dict[str, str]) -> None:
    result = certassist(["diag", "--json"])
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    by_backend = {}
    for device in report["devices"]:
        by_backend.setdefault(device["backend"], []).append(device)
    [soft] = by_backend["soft"]
    assert soft["serial"] == everything["soft_serial"] and soft["pin"]["remaining"] == 10
    [container] = soft["containers"]
    [cert] = container["certificates"]
    assert cert["subject"] == "CN=测试" and 18 <= cert["days_left"] <= 20
    assert any(d["label"] == everything["token_label"] for d in by_backend["pkcs11"])
    [card] = [d for d in by_backend["pcsc"] if d["model"] == READER]
    assert card["label"] == "CertAssist virtual card" and card["pin"]["remaining"] == 10
    pcsc = report["backends"]["pcsc"]
    assert pcsc["available"] and any(r["profile"] == "certassist-virtual-card" for r in pcsc["readers"])
    slots = report["backends"]["pkcs11"]["slots"]
    assert any(s["label"] == everything["token_label"] and s["ec"] and not s["sm2"] for s in slots)
    timings = {k: v["enumeration_ms"] for k, v in report["backends"].items()}
    print("enumeration ms:", timings, "total", report["total_ms"])


def test_diag_text_report(everything: Dict[str, str]) -> None:
    result = certassist(["diag"])
    assert result.returncode == 0
    text = result.stdout.decode()
    assert "[pcsc] ok" in text and "SM2=no" in text and "测试" in text and "tries left" in text


def test_token_list_and_info(everything: Dict[str, str]) -> None:
    listed = json.loads(certassist(["token", "list", "--json"]).stdout)
    assert {d["backend"] for d in listed["devices"]} >= {"soft", "pkcs11", "pcsc"}
    info = certassist(["token", "info", "--json", "--device", everything["soft_serial"]])
    assert info.returncode == 0 and json.loads(info.stdout)["containers"][0]["name"] == "测试"
    ambiguous = certassist(["token", "info"])
    assert ambiguous.returncode == ExitCode.NOT_FOUND and b"choose one with --device" in ambiguous.stderr
    missing = certassist(["token", "info", "--device", "no-such-device"])
    assert missing.returncode == ExitCode.NOT_FOUND


def test_change_pin_from_stdin_and_wrong_pin(everything: Dict[str, str]) -> None:
    device = ["--device", everything["soft_serial"]]
    wrong = certassist(["token", "change-pin", *device, "--pin-stdin"], stdin="000000\n135790\n")
    assert wrong.returncode == ExitCode.FAILED_CHECK
    assert wrong.stderr.decode().strip() == "certassist: wrong PIN; 9 tries left [wrapped_key_mismatch]"
    ok = certassist(["token", "change-pin", *device, "--pin-stdin"], stdin=f"{SOFT_PIN}\n135790\n")
    assert ok.returncode == 0 and b"PIN changed" in ok.stdout
    short = certassist(["token", "change-pin", *device, "--pin-stdin"], stdin="135790\n123\n")
    assert short.returncode == ExitCode.USAGE and b"6-20 characters" in short.stderr
    weak = certassist(["token", "change-pin", *device, "--pin-stdin"], stdin="135790\n111111\n")
    assert weak.returncode == ExitCode.USAGE
    assert weak.stderr.decode().startswith("certassist: 新PIN码过于简单（同一数字或字符重复），请换一个")
    info = json.loads(certassist(["token", "info", "--json", *device]).stdout)
    assert info["pin"]["remaining"] == 10  # refused before the old PIN was checked: no try spent
    for output in (wrong, ok, short, weak):
        for secret in (SOFT_PIN.encode(), b"135790", b"000000", b"111111"):
            assert secret not in output.stdout + output.stderr


def test_unblock_softhsm_with_so_pin(everything: Dict[str, str]) -> None:
    device = ["--device", everything["token_label"]]
    bad = certassist(["token", "unblock", *device, "--pin-stdin"], stdin="00000000\n581937\n")
    assert bad.returncode == ExitCode.FAILED_CHECK and b"admin credential" in bad.stderr
    weak = certassist(["token", "unblock", *device, "--pin-stdin"], stdin=f"{SO_PIN}\n{USER_PIN}\n")
    assert weak.returncode == ExitCode.USAGE and "新PIN码过于简单" in weak.stderr.decode()
    ok = certassist(["token", "unblock", *device, "--pin-stdin"], stdin=f"{SO_PIN}\n581937\n")
    assert ok.returncode == 0, ok.stderr
    again = certassist(["token", "change-pin", *device, "--pin-stdin"], stdin="581937\n604213\n")
    assert again.returncode == 0


def test_nothing_found_is_exit_3(tmp_path: Path) -> None:
    conf = tmp_path / "softhsm2.conf"
    (tmp_path / "tokens").mkdir()
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\n")
    env = dict(
        os.environ,
        SOFTHSM2_CONF=str(conf),
        PCSCLITE_CSOCK_NAME=str(tmp_path / "none.comm"),
        CERTASSIST_HOME=str(tmp_path / "home"),
    )
    listed = certassist(["token", "list"], env=env)
    assert listed.returncode == ExitCode.NOT_FOUND and b"no certificate device found" in listed.stdout
    diag = certassist(["diag", "--json"], env=env)
    assert diag.returncode == ExitCode.NOT_FOUND
    report = json.loads(diag.stdout)
    assert report["backends"]["pcsc"]["available"] is False and "pcscd" in report["backends"]["pcsc"]["detail"]
