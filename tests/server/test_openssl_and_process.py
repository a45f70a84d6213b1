"""Certificates and CRLs of the issuing service checked with the OpenSSL command line; the real
`certassist-server` process started with no set-up; operator commands."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gm.x509 import Certificate
from tests.integration.test_openssl_interop import DISTID, ossl, write
from tests.peers import free_port
from tests.server.conftest import Server, certificate_login, chain_of, issue, new_user, unb64

pytestmark = pytest.mark.integration


def test_issued_certificates_and_crl_pass_openssl(server: Server, tmp_path: Path, openssl_bin: str) -> None:
    user = new_user(server, kind="legal")
    key, body = issue(server, user)
    root, [issuing] = chain_of(server)
    files = {
        name: write(tmp_path / f"{name}.pem", cert.to_pem())
        for name, cert in (
            ("root", root),
            ("issuing", issuing),
            ("sign", Certificate.from_der(unb64(body["sign_certificate"]))),
            ("enc", Certificate.from_der(unb64(body["encryption_certificate"]))),
        )
    }
    verify = ["verify", "-vfyopt", DISTID]
    assert b": OK" in ossl(openssl_bin, *verify, "-CAfile", files["root"], files["issuing"]).stdout
    for leaf in ("sign", "enc"):
        assert b": OK" in ossl(openssl_bin, *verify, "-partial_chain", "-CAfile", files["issuing"], files[leaf]).stdout
    text = ossl(openssl_bin, "x509", "-in", files["sign"], "-noout", "-text").stdout.decode()
    assert "SM2-with-SM3" in text and "URI:http://127.0.0.1:8470/crl/issuing-g1.crl" in text
    assert "91350100M000100Y43" in text

    token = certificate_login(server, key, unb64(body["sign_certificate"]))
    assert server.api("POST", "/api/v1/certificates/revoke", token, json={}).status_code == 200
    crl_der = server.api("GET", "/crl/issuing-g1.crl").content
    crl_file = write(tmp_path / "issuing.crl", crl_der)
    crl_text = ossl(openssl_bin, "crl", "-inform", "DER", "-in", crl_file, "-noout", "-text").stdout.decode()
    serial = f"{Certificate.from_der(unb64(body['sign_certificate'])).serial_number:X}"
    assert f"Serial Number: {serial}\n" in crl_text and "Cessation Of Operation" in crl_text
    from gm.x509 import CRL

    crl = CRL.from_der(crl_der)
    sig = write(tmp_path / "sig", crl.asn1["signature"].native)
    tbs = write(tmp_path / "tbs", crl.asn1["tbs_cert_list"].dump())
    pub = write(tmp_path / "ca.pub", issuing.public_key.to_pem())
    out = ossl(openssl_bin, "dgst", "-sm3", "-verify", pub, "-sigopt", DISTID, "-signature", sig, tbs)
    assert b"Verified OK" in out.stdout


def run_server_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from server.cli import run; run()", "--data-dir", str(data_dir), *args],
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_operator_commands(tmp_path: Path) -> None:
    data = tmp_path / "srv"
    added = run_server_cli(
        data,
        "account",
        "add",
        "--username",
        "wangwu",
        "--name",
        "王五",
        "--type",
        "natural",
        "--id-number",
        "11010519491231002X",
        "--email",
        "ww@example.com",
    )
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["status"] == "pending"
    approved = run_server_cli(data, "account", "approve", "wangwu")
    assert json.loads(approved.stdout)["may_issue"] is True
    [eml] = list((data / "outbox").glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "ww@example.com" and "账号审核通过" in str(message["Subject"])
    flagged = run_server_cli(data, "account", "flag-exchange", "wangwu")
    assert json.loads(flagged.stdout)["exchange_required"] is True
    missing = run_server_cli(data, "account", "show", "nobody")
    assert missing.returncode == 1 and "没有用户名为 nobody 的账号" in missing.stderr.decode()
    no_change = run_server_cli(data, "name-change", "approve", "wangwu")
    assert no_change.returncode == 1 and "没有待审核的名称变更" in no_change.stderr.decode()
    rotated = run_server_cli(data, "ca", "rotate")
    assert b"generation 2" in rotated.stdout
    chain = run_server_cli(data, "ca", "chain")
    assert chain.stdout.count(b"BEGIN CERTIFICATE") == 3
    assert oct((data / "master.key").stat().st_mode & 0o777) == "0o600"


def test_server_process_starts_with_no_setup(tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ, CERTASSIST_SERVER_DATA=str(tmp_path / "fresh"))
    process = subprocess.Popen(
        [sys.executable, "-c", "from server.cli import run; run()", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, (
                process.stderr.read() if process.stderr else ""
            )
            time.sleep(0.2)
        spec = httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()
        assert spec["info"]["title"].startswith("CertAssist")
        crl = httpx.get(f"http://127.0.0.1:{port}/crl/issuing.crl")
        assert crl.status_code == 200 and crl.headers["content-type"] == "application/pkix-crl"
        assert (tmp_path / "fresh" / "certassist.db").exists()
    finally:
        process.terminate()
        process.wait(timeout=30)
    help_text = subprocess.run(
        [sys.executable, "-c", "from server.cli import run; run()", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for option in ("--host", "--port", "--data-dir", "--database-url", "--public-url", "--smtp-host", "--mail"):
        assert option in help_text
