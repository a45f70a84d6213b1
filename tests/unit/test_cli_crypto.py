"""`certassist crypto`: files in and out, one-line errors, exit codes (run as a real subprocess too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List

import pytest
from click.testing import CliRunner

from app.cli import ExitCode, cli
from gm.sm2 import SM2PrivateKey, SM2PublicKey
from gm.x509 import build_certificate
from tests.pki import make_pki


def run(args: List[str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """The installed entry point, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=60,
    )


@pytest.fixture()
def keys(tmp_path: Path) -> Path:
    result = run(["crypto", "keygen", "-o", str(tmp_path / "k.pem"), "--pubout", str(tmp_path / "p.pem")])
    assert result.returncode == 0, result.stderr
    return tmp_path


def test_keygen_writes_private_key_0600_and_refuses_overwrite(keys: Path) -> None:
    assert (keys / "k.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert oct((keys / "k.pem").stat().st_mode & 0o777) == "0o600"
    assert SM2PrivateKey.load((keys / "k.pem").read_bytes()).public_key == SM2PublicKey.load(
        (keys / "p.pem").read_bytes()
    )
    before = (keys / "k.pem").read_bytes()
    again = run(["crypto", "keygen", "-o", str(keys / "k.pem")])
    assert again.returncode == ExitCode.USAGE
    assert b"already exists" in again.stderr and len(again.stderr.splitlines()) <= 3
    assert (keys / "k.pem").read_bytes() == before  # nothing lost


def test_sign_verify_round_trip_and_failure_exit_code(keys: Path) -> None:
    (keys / "msg").write_bytes(b"hello")
    assert (
        run(["crypto", "sign", "-k", str(keys / "k.pem"), "-o", str(keys / "sig"), str(keys / "msg")]).returncode == 0
    )
    ok = run(["crypto", "verify", "-p", str(keys / "p.pem"), "-s", str(keys / "sig"), str(keys / "msg")])
    assert ok.returncode == 0 and b"Verified OK" in ok.stdout
    (keys / "msg").write_bytes(b"hellO")
    bad = run(["crypto", "verify", "-p", str(keys / "p.pem"), "-s", str(keys / "sig"), str(keys / "msg")])
    assert bad.returncode == ExitCode.FAILED_CHECK
    assert bad.stderr.decode().startswith("certassist: SM2 signature does not verify")
    assert b"Traceback" not in bad.stderr


def test_sign_with_id_and_raw_format_via_stdin(keys: Path) -> None:
    sig = run(["crypto", "sign", "-k", str(keys / "k.pem"), "--id", "ALICE", "--format", "raw"], stdin=b"data").stdout
    assert len(sig) == 64
    (keys / "sig").write_bytes(sig)
    args = ["crypto", "verify", "-p", str(keys / "k.pem"), "-s", str(keys / "sig"), "--format", "raw"]
    assert run([*args, "--id", "ALICE"], stdin=b"data").returncode == 0
    assert run([*args, "--id-hex", "414c494345"], stdin=b"data").returncode == 0
    assert run(args, stdin=b"data").returncode == ExitCode.FAILED_CHECK


def test_digest_mode(keys: Path) -> None:
    key = SM2PrivateKey.load((keys / "k.pem").read_bytes())
    e = key.public_key.message_digest(b"token data")
    (keys / "e").write_bytes(e)
    assert (
        run(
            [
                "crypto",
                "sign",
                "--digest",
                "-k",
                str(keys / "k.pem"),
                "-o",
                str(keys / "sig"),
                str(keys / "e"),
            ]
        ).returncode
        == 0
    )
    key.public_key.verify((keys / "sig").read_bytes(), b"token data")
    refused = run(["crypto", "sign", "--digest", "--id", "x", "-k", str(keys / "k.pem"), str(keys / "e")])
    assert refused.returncode == ExitCode.USAGE


@pytest.mark.parametrize("fmt", ["der", "c1c3c2", "c1c2c3"])
def test_encrypt_decrypt(keys: Path, fmt: str) -> None:
    (keys / "plain").write_bytes(b"top secret")
    enc = [
        "crypto",
        "encrypt",
        "-p",
        str(keys / "p.pem"),
        "--format",
        fmt,
        "-o",
        str(keys / "ct"),
        str(keys / "plain"),
    ]
    assert run(enc).returncode == 0
    out = run(["crypto", "decrypt", "-k", str(keys / "k.pem"), "--format", fmt, str(keys / "ct")])
    assert out.returncode == 0 and out.stdout == b"top secret"
    data = bytearray((keys / "ct").read_bytes())
    data[-1] ^= 1
    (keys / "ct").write_bytes(bytes(data))
    tampered = run(["crypto", "decrypt", "-k", str(keys / "k.pem"), "--format", fmt, str(keys / "ct")])
    assert tampered.returncode == ExitCode.FAILED_CHECK and tampered.stdout == b""


def test_encrypt_to_certificate(tmp_path: Path) -> None:
    pki = make_pki()
    (tmp_path / "leaf.pem").write_bytes(pki.leaf.to_pem())
    ct = run(["crypto", "encrypt", "-p", str(tmp_path / "leaf.pem")], stdin=b"to a cert").stdout
    assert pki.leaf_key.decrypt(ct) == b"to a cert"


def test_inspect_certificate_csr_crl_and_keys(tmp_path: Path) -> None:
    pki = make_pki()
    (tmp_path / "leaf.cer").write_bytes(pki.leaf.to_der())
    (tmp_path / "ca.pem").write_bytes(pki.ca.to_pem())
    result = run(["crypto", "inspect", "--json", "--issuer", str(tmp_path / "ca.pem"), str(tmp_path / "leaf.cer")])
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["type"] == "certificate" and info["subject"].startswith("CN=张三")
    assert info["signature"].startswith("verified with CN=CertAssist Test CA")
    text = run(["crypto", "inspect", str(tmp_path / "ca.pem")]).stdout.decode()
    assert "subject" in text and "CertAssist Test CA" in text
    wrong = run(["crypto", "inspect", "--issuer", str(tmp_path / "leaf.cer"), str(tmp_path / "leaf.cer")])
    assert wrong.returncode == ExitCode.FAILED_CHECK and b"does not verify" in wrong.stderr
    key = SM2PrivateKey.generate()
    (tmp_path / "k.pem").write_bytes(key.to_pem())
    out = json.loads(run(["crypto", "inspect", "--json", str(tmp_path / "k.pem")]).stdout)
    assert out["type"] == "private_key" and key.to_raw().hex() not in json.dumps(out)


def test_inspect_shows_where_the_issuer_and_the_crl_are(tmp_path: Path) -> None:
    """authorityInfoAccess (caIssuers) and the CRL distribution points, as a relying party follows them."""
    pki = make_pki()
    leaf = build_certificate(
        subject={"common_name": "aia"},
        public_key=pki.leaf_key.public_key,
        issuer=pki.ca,
        issuer_key=pki.ca_key,
        not_after=datetime.now(timezone.utc) + timedelta(days=1),
        crl_urls=["http://127.0.0.1:8765/crl/ca.crl"],
        ca_issuers_urls=["http://127.0.0.1:8765/ca/ca.cer"],
    )
    (tmp_path / "leaf.pem").write_bytes(leaf.to_pem())
    result = run(["crypto", "inspect", "--json", str(tmp_path / "leaf.pem")])
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["ca_issuers_urls"] == ["http://127.0.0.1:8765/ca/ca.cer"]
    assert info["crl_urls"] == ["http://127.0.0.1:8765/crl/ca.crl"]
    assert "http://127.0.0.1:8765/ca/ca.cer" in run(["crypto", "inspect", str(tmp_path / "leaf.pem")]).stdout.decode()


def test_one_line_errors_for_bad_input(tmp_path: Path) -> None:
    (tmp_path / "junk").write_bytes(b"this is not a key")
    cases = [
        (["crypto", "sign", "-k", str(tmp_path / "missing.pem")], ExitCode.USAGE, "file not found"),
        (["crypto", "sign", "-k", str(tmp_path / "junk")], ExitCode.USAGE, "not a PKCS#8"),
        (["crypto", "inspect", str(tmp_path / "junk")], ExitCode.USAGE, "not a certificate"),
        (
            ["crypto", "verify", "-p", str(tmp_path / "junk"), "-s", str(tmp_path / "junk")],
            ExitCode.USAGE,
            "not an SM2 public key",
        ),
    ]
    for args, code, text in cases:
        result = run(args, stdin=b"x")
        assert result.returncode == code, (args, result.stderr)
        lines = result.stderr.decode().strip().splitlines()
        assert len(lines) == 1 and text in lines[0], lines


def test_missing_libcrypto_is_one_clear_line(tmp_path: Path) -> None:
    env = dict(os.environ, CERTASSIST_LIBCRYPTO=str(tmp_path / "no-such-libcrypto.so"))
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from app.cli import main; main()",
            "crypto",
            "keygen",
            "-o",
            str(tmp_path / "k"),
        ],
        capture_output=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == ExitCode.UNAVAILABLE
    line = result.stderr.decode().strip()
    assert "OpenSSL 3 libcrypto was not found" in line and "CERTASSIST_LIBCRYPTO" in line and "\n" not in line
    assert not (tmp_path / "k").exists()


def test_help_texts() -> None:
    runner = CliRunner()
    for args in ([], ["crypto"], ["crypto", "sign"], ["crypto", "inspect"]):
        result = runner.invoke(cli, [*args, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output


def test_sm3_command_matches_library(tmp_path: Path) -> None:
    from gm.sm3 import sm3

    (tmp_path / "f").write_bytes(b"abc")
    out = run(["crypto", "sm3", str(tmp_path / "f")]).stdout.decode()
    assert out.strip().endswith(sm3(b"abc").hex())


def _in_process(args: List[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from app.cli import main

    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def test_a_real_internal_error_gets_the_documented_exit_code(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (here a KeyError in a command) ends with exit 70 and one line, not a traceback and exit 1."""
    import click

    from app.cli.errors import run_guarded

    @click.command()
    def broken() -> None:
        raise KeyError("no such thing")

    monkeypatch.delenv("CERTASSIST_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        run_guarded(broken, [])
    err = capsys.readouterr().err
    assert info.value.code == ExitCode.INTERNAL == 70
    assert err.startswith("certassist: internal error (KeyError: 'no such thing'); this is a bug, please report it")
    assert len(err.strip().splitlines()) == 1
    monkeypatch.setenv("CERTASSIST_DEBUG", "1")
    with pytest.raises(SystemExit):
        run_guarded(broken, [])
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_inspect_refuses_a_file_above_the_size_limit_without_reading_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli.crypto import INSPECT_FILE_LIMIT, OBJECT_FILE_LIMIT

    big = tmp_path / "big.pem"
    with big.open("wb") as fh:  # sparse: the command must refuse it after reading at most the limit
        fh.truncate(INSPECT_FILE_LIMIT + 1)
    code, err = _in_process(["crypto", "inspect", str(big)], capsys)
    assert code == ExitCode.USAGE and "larger than 12.1 MB" in err and len(err.strip().splitlines()) == 1
    key = tmp_path / "big.key"
    with key.open("wb") as fh:
        fh.truncate(OBJECT_FILE_LIMIT + 1)
    code, err = _in_process(["crypto", "sign", "-k", str(key), str(key)], capsys)
    assert code == ExitCode.USAGE and "larger than 448 KB" in err
