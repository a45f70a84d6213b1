"""备份证书 / 恢复证书 as a user meets them: the command line (real processes, stdin), the files it writes, the
rules on passwords, wrong passwords and damaged files, and restores onto a fresh account."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from app import backup
from app.backup_policy import (
    FAILURES_PER_WINDOW,
    AlreadyRestored,
    AttemptLimiter,
    BackupPasswordInvalid,
    BackupUnreadable,
    TooManyAttempts,
    check_backup_password,
)
from app.cli.errors import ExitCode
from app.entries import list_certificates
from drivers.model import KeyUsage
from drivers.soft import SoftBackend, SoftDevice
from gm import pkcs12
from gm.errors import PasswordIncorrect
from gm.sm2 import SM2PrivateKey
from gm.x509 import ENCRYPTION_KEY_USAGE, build_certificate
from tests.conftest import FAST_KDF
from tests.pki import make_pki

PIN = "480362"
NEW_PIN = "739146"
PASSWORD = "Backup-Pass-2026"


def certassist(args: List[str], stdin: str = "", env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        input=stdin.encode(),
        capture_output=True,
        env={**os.environ, "CERTASSIST_SERVICE_URL": "http://127.0.0.1:9", **(env or {})},
        timeout=180,
        check=False,
    )


@pytest.fixture()
def backend() -> SoftBackend:
    return SoftBackend(kdf=FAST_KDF)


@pytest.fixture()
def limiter(tmp_path: Path) -> AttemptLimiter:
    return AttemptLimiter(tmp_path / "attempts.json")


def soft_certificate(backend: SoftBackend) -> SoftDevice:
    """A soft keystore holding a dual pair with certificates, as 证书签发 leaves it."""
    pki = make_pki()
    enc_key = SM2PrivateKey.generate()
    now = pki.leaf.not_before
    enc_cert = build_certificate(
        subject={"common_name": "张三"}, public_key=enc_key.public_key, issuer=pki.ca, issuer_key=pki.ca_key,
        not_before=now, not_after=pki.leaf.not_after, key_usage=ENCRYPTION_KEY_USAGE,
    )  # fmt: skip
    device, _admin = backend.create_device("软证书 zhangsan", PIN, PIN)
    with device.open() as session:
        session.login(PIN)
        session.create_container("zhangsan-20261130-abcdef")
        session.import_key_pair("zhangsan-20261130-abcdef", KeyUsage.SIGN, pki.leaf_key)
        session.import_key_pair("zhangsan-20261130-abcdef", KeyUsage.ENCRYPT, enc_key)
        session.write_certificate("zhangsan-20261130-abcdef", KeyUsage.ENCRYPT, enc_cert)
        session.write_certificate("zhangsan-20261130-abcdef", KeyUsage.SIGN, pki.leaf)
    return device


def test_backup_password_rules() -> None:
    for weak in ("short1A!", "aaaaaaaaaaaa", "Password-2026", "abcdefghijkl", "1234567890ab"):
        with pytest.raises(BackupPasswordInvalid):
            check_backup_password(weak, weak)
    with pytest.raises(BackupPasswordInvalid, match="不一致"):
        check_backup_password(PASSWORD, PASSWORD + "x")
    check_backup_password(PASSWORD, PASSWORD)
    check_backup_password("这是一个很长的中文备份口令句子啊", "这是一个很长的中文备份口令句子啊")


def test_round_trip_after_the_original_keystore_is_deleted(
    backend: SoftBackend, tmp_path: Path, limiter: AttemptLimiter
) -> None:
    device = soft_certificate(backend)
    [before], _ = list_certificates(backend.devices())
    target = tmp_path / "zhangsan.pfx"
    result = backup.make_backup(device, PIN, PASSWORD, PASSWORD, target)
    assert result.containers == 1 and target.stat().st_mode & 0o777 == 0o600
    device.destroy()
    assert backend.devices() == []
    restored = backup.restore_backup(backend, target.read_bytes(), PASSWORD, NEW_PIN, NEW_PIN, limiter)
    [after], _ = list_certificates(backend.devices())
    assert after.sign == before.sign and after.encryption == before.encryption and after.container == before.container
    assert restored.device.info.label == "软证书 zhangsan"
    with restored.device.open() as session:
        session.login(NEW_PIN)
        signature = session.sign(after.container, b"signed after the restore")
        assert after.encryption is not None
        assert session.decrypt(after.container, after.encryption.public_key.encrypt(b"m")) == b"m"
    after.sign.public_key.verify(signature, b"signed after the restore")
    with pytest.raises(AlreadyRestored, match="无需恢复"):  # it would make a second keystore of the same certificate
        backup.restore_backup(backend, target.read_bytes(), PASSWORD, NEW_PIN, NEW_PIN, limiter)


def test_backups_never_overwrite_silently(backend: SoftBackend, tmp_path: Path) -> None:
    device = soft_certificate(backend)
    target = tmp_path / "keep.pfx"
    target.write_bytes(b"the user's other file")
    with pytest.raises(FileExistsError):
        backup.make_backup(device, PIN, PASSWORD, PASSWORD, target)
    assert target.read_bytes() == b"the user's other file"
    backup.make_backup(device, PIN, PASSWORD, PASSWORD, target, overwrite=True)  # the user said so
    assert pkcs12.load(target.read_bytes(), PASSWORD).keys
    assert [p.name for p in tmp_path.iterdir()] == ["keep.pfx"]  # no temporary file left behind


def test_a_wrong_pin_writes_nothing(backend: SoftBackend, tmp_path: Path) -> None:
    device = soft_certificate(backend)
    with pytest.raises(Exception, match="wrong PIN"):
        backup.make_backup(device, "000000", PASSWORD, PASSWORD, tmp_path / "x.pfx")
    assert not (tmp_path / "x.pfx").exists()


def test_wrong_passwords_are_limited_per_minute_across_processes(
    backend: SoftBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = soft_certificate(backend)
    target = tmp_path / "b.pfx"
    backup.make_backup(device, PIN, PASSWORD, PASSWORD, target)
    device.destroy()
    data = target.read_bytes()
    for _ in range(FAILURES_PER_WINDOW):
        with pytest.raises(PasswordIncorrect, match="备份密码错误"):
            backup.restore_backup(backend, data, "Wrong-Pass-2026", NEW_PIN, NEW_PIN, AttemptLimiter.default())
    with pytest.raises(TooManyAttempts) as limited:  # a new limiter object: the count is on disk
        backup.restore_backup(backend, data, PASSWORD, NEW_PIN, NEW_PIN, AttemptLimiter.default())
    assert 0 < limited.value.wait_s <= 61
    assert backend.devices() == []
    # the command line (another process) sees the same count
    out = certassist(["token", "restore", str(target), "--password-stdin", "--pin-stdin"], f"{PASSWORD}\n{NEW_PIN}\n")
    assert out.returncode == ExitCode.FAILED_CHECK and "秒后再试" in out.stderr.decode()
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    backup.restore_backup(backend, data, PASSWORD, NEW_PIN, NEW_PIN, AttemptLimiter.default())


@pytest.mark.parametrize("damage", ["truncated", "flipped", "empty", "not-pkcs12"])
def test_a_damaged_file_loses_nothing(
    backend: SoftBackend, tmp_path: Path, limiter: AttemptLimiter, damage: str
) -> None:
    device = soft_certificate(backend)
    target = tmp_path / "b.pfx"
    backup.make_backup(device, PIN, PASSWORD, PASSWORD, target)
    data = target.read_bytes()
    bad = {
        "truncated": data[: len(data) * 2 // 3],
        "flipped": data[:200] + bytes([data[200] ^ 0x40]) + data[201:],
        "empty": b"",
        "not-pkcs12": b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    }[damage]
    before = sorted(p.name for p in backend.directory.iterdir())
    with pytest.raises((BackupUnreadable, PasswordIncorrect)):
        backup.restore_backup(backend, bad, PASSWORD, NEW_PIN, NEW_PIN, limiter)
    assert sorted(p.name for p in backend.directory.iterdir()) == before  # no keystore created
    assert target.read_bytes() == data  # the backup itself untouched
    with device.open() as session:
        session.login(PIN)  # the original keystore untouched


def test_a_pfx_from_another_tool_with_two_keys_is_sorted_by_key_usage(
    backend: SoftBackend, tmp_path: Path, limiter: AttemptLimiter
) -> None:
    pki = make_pki()
    enc_key = SM2PrivateKey.generate()
    enc_cert = build_certificate(
        subject={"common_name": "张三"}, public_key=enc_key.public_key, issuer=pki.ca, issuer_key=pki.ca_key,
        not_before=pki.leaf.not_before, not_after=pki.leaf.not_after, key_usage=ENCRYPTION_KEY_USAGE,
    )  # fmt: skip
    contents = pkcs12.PfxContents(
        (pkcs12.PfxKey(enc_key, enc_cert, "enc"), pkcs12.PfxKey(pki.leaf_key, pki.leaf, "sig"))
    )
    data = pkcs12.dump(contents, PASSWORD, iterations=2048)
    restored = backup.restore_backup(backend, data, PASSWORD, NEW_PIN, NEW_PIN, limiter)
    [entry], _ = list_certificates([restored.device])
    assert entry.sign == pki.leaf and entry.encryption == enc_cert
    with pytest.raises(BackupUnreadable, match="没有签名私钥"):
        only_enc = pkcs12.PfxContents((pkcs12.PfxKey(enc_key, enc_cert, "enc"),))
        backup.restore_backup(backend, pkcs12.dump(only_enc, PASSWORD, 2048), PASSWORD, NEW_PIN, NEW_PIN, limiter)


def test_command_line_backup_and_restore(backend: SoftBackend, tmp_path: Path, openssl_bin: str) -> None:
    device = soft_certificate(backend)
    serial = device.info.serial
    target = tmp_path / "cli.pfx"
    args = ["token", "backup", "--device", serial, "-o", str(target), "--password-stdin", "--pin-stdin"]
    weak = certassist(args, f"weakpass\n{PIN}\n")
    assert weak.returncode == ExitCode.USAGE and "备份密码" in weak.stderr.decode() and not target.exists()
    wrong_pin = certassist(args, f"{PASSWORD}\n000000\n")
    assert wrong_pin.returncode == ExitCode.FAILED_CHECK and not target.exists()
    made = certassist(args, f"{PASSWORD}\n{PIN}\n")
    assert made.returncode == 0, made.stderr
    assert "备份证书成功" in made.stdout.decode() and "not told" in made.stderr.decode()  # no service here
    written = target.read_bytes()
    again = certassist(args, "")  # refused before any secret is asked
    assert again.returncode == ExitCode.USAGE and "--force" in again.stderr.decode()
    assert target.read_bytes() == written
    info = subprocess.run(
        [openssl_bin, "pkcs12", "-info", "-in", str(target), "-passin", f"pass:{PASSWORD}", "-noout"],
        capture_output=True, check=False, timeout=60,
    )  # fmt: skip
    assert info.returncode == 0 and b"SM4-CBC" in info.stderr

    device.destroy()
    fresh = {"CERTASSIST_HOME": str(tmp_path / "new-computer")}  # another account: its own keystores and keyring
    restored = certassist(["token", "restore", str(target), "--password-stdin", "--pin-stdin", "--json"],
                          f"{PASSWORD}\n{NEW_PIN}\n", fresh)  # fmt: skip
    assert restored.returncode == 0, restored.stderr
    result = json.loads(restored.stdout)
    assert result["certificates"][0]["subject"] == "张三"
    listed = json.loads(certassist(["token", "list", "--json"], env=fresh).stdout)
    [row] = [d for d in listed["devices"] if d["backend"] == "soft"]  # (other tests' tokens may be present)
    assert row["serial"] == result["serial"] and row["label"] == "软证书 zhangsan"
    assert [c["subject"] for c in row["certificates"]] == ["张三"]
    signed = certassist(["token", "info", "--device", row["serial"], "--json"], env=fresh)
    assert signed.returncode == 0


def test_command_line_decrypt_with_an_earlier_key(backend: SoftBackend, tmp_path: Path) -> None:
    device = soft_certificate(backend)
    with device.open() as session:
        session.login(PIN)
        enc_cert = session.read_certificate("zhangsan-20261130-abcdef", KeyUsage.ENCRYPT)
        assert enc_cert is not None
        session.create_container("zhangsan-20271130-123456")  # a renewal's new pair
        session.import_key_pair("zhangsan-20271130-123456", KeyUsage.SIGN, SM2PrivateKey.generate())
        session.import_key_pair("zhangsan-20271130-123456", KeyUsage.ENCRYPT, SM2PrivateKey.generate())
        session.retire_container("zhangsan-20261130-abcdef")
    (tmp_path / "bid.enc").write_bytes(enc_cert.public_key.encrypt(b"bid document"))
    out = certassist(["token", "decrypt", "--device", device.info.serial, "-o", str(tmp_path / "bid.txt"),
                      "--pin-stdin", str(tmp_path / "bid.enc")], f"{PIN}\n")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "bid.txt").read_bytes() == b"bid document"
    assert "zhangsan-20261130-abcdef" in out.stderr.decode()


def test_files_other_tools_made_that_cannot_be_restored_say_why(
    backend: SoftBackend, tmp_path: Path, limiter: AttemptLimiter, openssl_bin: str
) -> None:
    """An RSA .pfx and an OpenSSL 1.x-style RC2 one are not damaged: the message says what is wrong instead."""

    def export(name: str, algorithm: List[str], *extra: str) -> bytes:
        key, cert = tmp_path / f"{name}.key", tmp_path / f"{name}.crt"
        for command in (
            ["genpkey", *algorithm, "-out", str(key)],
            ["req", "-new", "-x509", "-key", str(key), "-subj", "/CN=x", "-days", "30", "-out", str(cert)],
            ["pkcs12", "-export", "-inkey", str(key), "-in", str(cert), "-out", str(tmp_path / f"{name}.p12"),
             "-passout", f"pass:{PASSWORD}", *extra],
        ):  # fmt: skip
            subprocess.run([openssl_bin, *command], check=True, capture_output=True, timeout=60)
        return (tmp_path / f"{name}.p12").read_bytes()

    rsa = export("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
    with pytest.raises(BackupUnreadable, match="不是SM2") as not_sm2:
        backup.restore_backup(backend, rsa, PASSWORD, NEW_PIN, NEW_PIN, limiter)
    legacy = export("legacy", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2"], "-legacy")
    with pytest.raises(BackupUnreadable, match="不支持的加密方式") as unsupported:
        backup.restore_backup(backend, legacy, PASSWORD, NEW_PIN, NEW_PIN, limiter)
    assert "损坏" not in str(not_sm2.value) + str(unsupported.value)
    assert backend.devices() == []
