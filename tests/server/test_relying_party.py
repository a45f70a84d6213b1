"""A relying party checks a certificate completely with the OpenSSL command line, starting from nothing but the
certificate (issue 13.13): authorityInfoAccess leads to the issuing CA and the root, the CRL distribution points
to the CRLs of the issuing CA and of the root, all served by the service at the URLs the certificates name.

OpenSSL 3.0 applies an SM2 ID (``-vfyopt distid:…``) to the target certificate only, and to no CRL: its
``verify -crl_check_all`` over the whole chain stops at "CRL signature failure" for any CRL signed as
GM/T 0015 says (README). The path is then checked link by link, each CRL signature with ``openssl dgst``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List

import pytest

from gm.x509 import CRL, Certificate
from tests.integration.test_openssl_interop import DISTID, ossl, write
from tests.server.conftest import PASSING_ID, Server, certificate_login, issue, new_user, unb64

pytestmark = pytest.mark.integration
PUBLIC = "http://127.0.0.1:8470"  # the public URL the test servers are configured with


def fetch(server: Server, url: str) -> bytes:
    """GET a URL a certificate names (on the service under test)."""
    assert url.startswith(PUBLIC + "/"), url
    response = server.api("GET", url[len(PUBLIC) :])
    assert response.status_code == 200, url
    return bytes(response.content)


def text_of(openssl_bin: str, path: str) -> str:
    return str(ossl(openssl_bin, "x509", "-in", path, "-noout", "-text").stdout.decode())


def urls(text: str, kind: str) -> List[str]:
    """URLs of the extension ``kind`` as OpenSSL prints it."""
    if kind == "aia":
        return re.findall(r"CA Issuers - URI:(\S+)", text)
    section = text.split("X509v3 CRL Distribution Points:", 1)
    return re.findall(r"^\s+URI:(\S+)$", section[1], re.M) if len(section) > 1 else []  # not "CA Issuers - URI:"


def check_crl(openssl_bin: str, tmp_path: Path, name: str, der: bytes, issuer: Certificate) -> str:
    """The CRL's signature by ``issuer`` (openssl dgst with the SM2 ID) and its text."""
    crl = CRL.from_der(der)
    sig = write(tmp_path / f"{name}.sig", crl.asn1["signature"].native)
    tbs = write(tmp_path / f"{name}.tbs", crl.asn1["tbs_cert_list"].dump())
    pub = write(tmp_path / f"{name}.issuer.pub", issuer.public_key.to_pem())
    out = ossl(openssl_bin, "dgst", "-sm3", "-verify", pub, "-sigopt", DISTID, "-signature", sig, tbs)
    assert b"Verified OK" in out.stdout
    path = write(tmp_path / f"{name}.crl", der)
    return str(ossl(openssl_bin, "crl", "-inform", "DER", "-in", path, "-noout", "-text").stdout.decode())


def test_the_whole_path_from_the_certificate_alone(server: Server, tmp_path: Path, openssl_bin: str) -> None:
    user = new_user(server)  # a natural person
    key, body = issue(server, user)
    leaf_der = unb64(body["sign_certificate"])
    leaf = write(tmp_path / "leaf.pem", Certificate.from_der(leaf_der).to_pem())
    leaf_text = text_of(openssl_bin, leaf)

    [issuing_url] = urls(leaf_text, "aia")
    issuing_cert = Certificate.from_der(fetch(server, issuing_url))
    issuing = write(tmp_path / "issuing.pem", issuing_cert.to_pem())
    issuing_text = text_of(openssl_bin, issuing)
    [root_url] = urls(issuing_text, "aia")
    root_cert = Certificate.from_der(fetch(server, root_url))
    root = write(tmp_path / "root.pem", root_cert.to_pem())
    assert root_cert.is_self_issued and urls(text_of(openssl_bin, root), "crl") == []

    # Each certificate verifies against the one its AIA named (OpenSSL 3.0: one link at a time).
    assert b": OK" in ossl(openssl_bin, "verify", "-vfyopt", DISTID, "-CAfile", root, issuing).stdout
    verify_leaf = ["verify", "-vfyopt", DISTID, "-partial_chain", "-CAfile", issuing, leaf]
    assert b": OK" in ossl(openssl_bin, *verify_leaf).stdout

    # The CRLs the distribution points name: signed by the right CA, current, the leaf not on them.
    [issuing_crl_url] = urls(leaf_text, "crl")
    [root_crl_url] = urls(issuing_text, "crl")
    issuing_crl = check_crl(openssl_bin, tmp_path, "issuing", fetch(server, issuing_crl_url), issuing_cert)
    root_crl = check_crl(openssl_bin, tmp_path, "root", fetch(server, root_crl_url), root_cert)
    serial = f"{Certificate.from_der(leaf_der).serial_number:X}"
    assert "CN = CertAssist SM2 Issuing CA G1" in issuing_crl and serial not in issuing_crl
    assert "CN = CertAssist SM2 Root CA" in root_crl and "No Revoked Certificates" in root_crl
    for crl_text in (issuing_crl, root_crl):
        assert "Next Update" in crl_text and "X509v3 CRL Number" in crl_text

    # The whole chain with both CRLs in one command: every check but the CRL signatures passes on 3.0.
    pems = []
    for name in ("issuing", "root"):
        pems.append(write(tmp_path / f"{name}.crl.pem", b""))
        ossl(openssl_bin, "crl", "-inform", "DER", "-in", str(tmp_path / f"{name}.crl"), "-out", pems[-1])
    whole = ["verify", "-vfyopt", DISTID, "-crl_check_all", "-CAfile", root, "-untrusted", issuing]
    result = ossl(openssl_bin, *whole, "-CRLfile", pems[0], "-CRLfile", pems[1], leaf, ok=False)
    output = (result.stdout + result.stderr).decode()
    assert result.returncode == 0 or "CRL signature failure" in output, output

    # Revoked: the issuing CA's CRL at the same URL lists the pair.
    token = certificate_login(server, key, leaf_der)
    assert server.api("POST", "/api/v1/certificates/revoke", token, json={}).status_code == 200
    revoked = check_crl(openssl_bin, tmp_path, "issuing-after", fetch(server, issuing_crl_url), issuing_cert)
    assert f"Serial Number: {serial}\n" in revoked and "Cessation Of Operation" in revoked


def test_subject_order_and_no_national_id(server: Server, tmp_path: Path, openssl_bin: str) -> None:
    """C, OU, CN, serialNumber (and O for organisations); a natural person's ID number is not in the
    certificate, a keyed identifier is: the same for the same person, in every certificate."""
    subjects = []
    for _ in range(2):  # two accounts of one person (the same ID number)
        _key, body = issue(server, new_user(server))
        path = write(tmp_path / "leaf.pem", Certificate.from_der(unb64(body["sign_certificate"])).to_pem())
        subject = ossl(openssl_bin, "x509", "-in", path, "-noout", "-subject", "-nameopt", "sep_comma_plus,sname")
        subjects.append(subject.stdout.decode().strip())
        der = unb64(body["sign_certificate"]) + unb64(body["encryption_certificate"])
        assert PASSING_ID.encode() not in der and PASSING_ID[:17].encode() not in der
    assert subjects[0] == subjects[1]
    assert re.fullmatch(r"subject=C=CN,OU=.+,CN=.+,serialNumber=HMAC-SM3:[0-9A-F]{32}", subjects[0]), subjects[0]
    _key, body = issue(server, new_user(server, kind="legal"))
    path = write(tmp_path / "legal.pem", Certificate.from_der(unb64(body["sign_certificate"])).to_pem())
    subject = ossl(openssl_bin, "x509", "-in", path, "-noout", "-subject", "-nameopt", "sep_comma_plus,sname")
    assert re.fullmatch(r"subject=C=CN,O=.+,OU=.+,CN=.+,serialNumber=91350100M000100Y43\n", subject.stdout.decode())
