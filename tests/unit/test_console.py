"""Console output on a code page that cannot hold the text (Windows cp1252 / cp936 pipes) never crashes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.platform import console
from gm.sm2 import SM2PrivateKey
from gm.x509 import build_certificate
from tests.conftest import REPO


def test_a_narrow_code_page_gets_escapes_instead_of_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    monkeypatch.setattr(sys, "stdout", stream)
    console.protect_console()
    print("证书助手 café")
    stream.flush()
    assert stream.buffer.getvalue() == "\\u8bc1\\u4e66\\u52a9\\u624b café\n".encode("cp1252")  # type: ignore[attr-defined]
    assert console.json_ascii()


def test_utf8_streams_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", stream)
    console.protect_console()
    assert stream.errors == "strict"
    assert not console.json_ascii()


@pytest.mark.parametrize("encoding", ["cp1252", "cp936"])
def test_cli_help_and_json_on_a_windows_code_page(encoding: str) -> None:
    """The command line as a Windows pipe sees it (PYTHONIOENCODING gives Python the same streams)."""
    env = dict(os.environ, PYTHONIOENCODING=encoding)
    run = [sys.executable, "-c", "from app.cli import main; main()"]
    shown = subprocess.run([*run, "--help"], env=env, capture_output=True, timeout=60, cwd=REPO, check=False)
    assert shown.returncode == 0, shown.stderr.decode(encoding, "replace")
    text = shown.stdout.decode(encoding)
    assert "开机自动启动" in text or "\\u5f00\\u673a\\u81ea\\u52a8\\u542f\\u52a8" in text
    listed = subprocess.run(
        [*run, "token", "list", "--json"], env=env, capture_output=True, timeout=120, cwd=REPO, check=False
    )
    assert listed.returncode in (0, 3), listed.stderr.decode(encoding, "replace")
    assert "devices" in json.loads(listed.stdout.decode(encoding))


@pytest.mark.parametrize("encoding", ["cp1252", "cp936"])
def test_certificate_json_is_exact_on_any_code_page(tmp_path: Path, encoding: str) -> None:
    """``crypto inspect --json`` of a subject neither code page holds whole (escapes stay valid JSON)."""
    key = SM2PrivateKey.generate()
    subject = {"common_name": "Straße 证书助手", "organization_name": "测试"}
    cert = tmp_path / "cert.pem"
    until = datetime.now(timezone.utc) + timedelta(days=30)
    cert.write_bytes(
        build_certificate(subject=subject, public_key=key.public_key, issuer_key=key, not_after=until).to_pem()
    )
    env = dict(os.environ, PYTHONIOENCODING=encoding)
    shown = subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", "crypto", "inspect", "--json", str(cert)],
        env=env,
        capture_output=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "Straße 证书助手" in json.dumps(json.loads(shown.stdout.decode(encoding)), ensure_ascii=False)
