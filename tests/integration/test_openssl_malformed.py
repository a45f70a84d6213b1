"""Issue 13.10-13.12 with inputs made by the OpenSSL 3 command line: each crash or misleading answer of the
attack run, through gm and through `certassist crypto` (in process, with the real error handling)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import List, Tuple

import pytest
from asn1crypto import core

from app.cli import ExitCode, main
from gm import asn1
from gm.errors import CertificateError, EncodingError, InvalidKey
from gm.sm2 import SM2PrivateKey, SM2PublicKey
from gm.x509 import Certificate, CertificationRequest

pytestmark = pytest.mark.integration

DISTID = "distid:1234567812345678"


def ossl(openssl_bin: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([openssl_bin, *args], capture_output=True, check=False, timeout=60)
    if ok and result.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
    return result


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> Tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("certassist: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture()
def sm2(tmp_path: Path, openssl_bin: str) -> Path:
    key = tmp_path / "sm2.key"
    ossl(openssl_bin, "genpkey", "-algorithm", "SM2", "-out", str(key))
    return key


def with_sm2_algorithm_oid(der: bytes, parameters: object) -> bytes:
    """The same key with the SM2 OID as its algorithm, as OpenSSL 3.0 before 3.0.13 and some tools write it."""
    alg = {"algorithm": asn1.OID_SM2_CURVE}
    if parameters is not None:
        alg["parameters"] = parameters  # type: ignore[assignment]
    if asn1.outline(der)[0][0] == 0x02:  # PKCS#8 (version first), not SubjectPublicKeyInfo
        info = asn1.PrivateKeyInfo.load(der)
        return bytes(asn1.PrivateKeyInfo({"version": 0, "algorithm": alg, "private_key": info["private_key"]}).dump())
    info = asn1.SubjectPublicKeyInfo.load(der)
    return bytes(asn1.SubjectPublicKeyInfo({"algorithm": alg, "public_key": info["public_key"]}).dump())


def test_sm2_algorithm_oid_keys_are_sm2_keys(
    tmp_path: Path, openssl_bin: str, sm2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pub_der = ossl(openssl_bin, "pkey", "-in", str(sm2), "-pubout", "-outform", "DER").stdout
    key_der = ossl(openssl_bin, "pkcs8", "-topk8", "-nocrypt", "-in", str(sm2), "-outform", "DER").stdout
    original = SM2PrivateKey.load(sm2.read_bytes())
    for parameters in (core.ObjectIdentifier(asn1.OID_SM2_CURVE), None, core.Null()):
        pub, key = with_sm2_algorithm_oid(pub_der, parameters), with_sm2_algorithm_oid(key_der, parameters)
        assert SM2PublicKey.load(pub) == original.public_key
        assert SM2PrivateKey.load(key) == original
    # OpenSSL itself reads the form with the curve named, and signs with it; gm verifies with the same file.
    (tmp_path / "pub.der").write_bytes(with_sm2_algorithm_oid(pub_der, core.ObjectIdentifier(asn1.OID_SM2_CURVE)))
    (tmp_path / "key.der").write_bytes(with_sm2_algorithm_oid(key_der, core.ObjectIdentifier(asn1.OID_SM2_CURVE)))
    ossl(openssl_bin, "pkey", "-pubin", "-inform", "DER", "-in", str(tmp_path / "pub.der"), "-noout")
    (tmp_path / "msg").write_bytes(b"signed with an SM2-OID key")
    sig = ossl(
        openssl_bin, "dgst", "-sm3", "-sign", str(tmp_path / "key.der"), "-keyform", "DER", "-sigopt", DISTID,
        str(tmp_path / "msg"),
    ).stdout  # fmt: skip
    (tmp_path / "sig").write_bytes(sig)
    code, out, err = cli(capsys, "crypto", "verify", "-p", str(tmp_path / "pub.der"), "-s", str(tmp_path / "sig"),
                         str(tmp_path / "msg"))  # fmt: skip
    assert code == 0 and "Verified OK" in out, err
    code, out, _ = cli(capsys, "crypto", "pubkey", str(tmp_path / "key.der"))
    assert code == 0 and out.encode() == original.public_key.to_pem()


def test_ec_key_without_curve_parameters_is_refused(
    tmp_path: Path, openssl_bin: str, sm2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pub_der = ossl(openssl_bin, "pkey", "-in", str(sm2), "-pubout", "-outform", "DER").stdout
    info = asn1.SubjectPublicKeyInfo.load(pub_der)
    bare = asn1.SubjectPublicKeyInfo(
        {"algorithm": {"algorithm": asn1.OID_EC_PUBLIC_KEY}, "public_key": info["public_key"]}
    ).dump()
    path = tmp_path / "bare.der"
    path.write_bytes(bare)
    assert ossl(openssl_bin, "pkey", "-pubin", "-inform", "DER", "-in", str(path), ok=False).returncode != 0
    with pytest.raises(InvalidKey, match="without curve parameters"):
        SM2PublicKey.load(bare)
    for command in (["crypto", "inspect", str(path)], ["crypto", "pubkey", str(path)]):
        code, _, err = cli(capsys, *command)
        assert code == ExitCode.USAGE and "without curve parameters" in one_line(err)


@pytest.mark.parametrize(
    ("genpkey", "name"),
    [
        (["-algorithm", "DH", "-pkeyopt", "group:ffdhe2048"], "Diffie-Hellman"),
        (["-algorithm", "X25519"], "X25519"),
        (["-algorithm", "ED25519"], "Ed25519"),
        (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], "secp256r1"),
        (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-pkeyopt", "ec_param_enc:explicit"], "explicit"),
    ],
)
def test_other_keys_are_refused_by_name(
    tmp_path: Path, openssl_bin: str, genpkey: List[str], name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "other.key"
    ossl(openssl_bin, "genpkey", *genpkey, "-out", str(key))
    pub = tmp_path / "other.pub"
    ossl(openssl_bin, "pkey", "-in", str(key), "-pubout", "-out", str(pub))
    der = ossl(openssl_bin, "pkey", "-in", str(key), "-outform", "DER").stdout
    for load, data in ((SM2PrivateKey.load, key.read_bytes()), (SM2PrivateKey.load, der),
                       (SM2PublicKey.load, pub.read_bytes())):  # fmt: skip
        with pytest.raises(InvalidKey, match=name):
            load(data)
    for command in (
        ["crypto", "inspect", str(key)],
        ["crypto", "pubkey", str(pub)],
        ["crypto", "sign", "-k", str(key), str(pub)],
        ["crypto", "encrypt", "-p", str(pub), str(pub)],
    ):
        code, _, err = cli(capsys, *command)
        assert code == ExitCode.USAGE and name in one_line(err), (command, err)


def test_der_csr_and_crl_given_as_public_key(
    tmp_path: Path, openssl_bin: str, sm2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The help says CSRs are accepted: a DER CSR was refused; a CRL gets a message that says why."""
    csr = tmp_path / "req.der"
    ossl(openssl_bin, "req", "-new", "-key", str(sm2), "-subj", "/CN=csr", "-sm3", "-sigopt", DISTID,
         "-outform", "DER", "-out", str(csr))  # fmt: skip
    (tmp_path / "msg").write_bytes(b"message")
    (tmp_path / "sig").write_bytes(
        ossl(openssl_bin, "dgst", "-sm3", "-sign", str(sm2), "-sigopt", DISTID, str(tmp_path / "msg")).stdout
    )
    expected = ossl(openssl_bin, "pkey", "-in", str(sm2), "-pubout").stdout
    code, out, err = cli(capsys, "crypto", "pubkey", str(csr))
    assert code == 0 and out.encode() == expected, err
    code, out, err = cli(capsys, "crypto", "verify", "-p", str(csr), "-s", str(tmp_path / "sig"), str(tmp_path / "msg"))
    assert code == 0 and "Verified OK" in out, err

    cert = tmp_path / "ca.pem"
    ossl(openssl_bin, "req", "-x509", "-new", "-key", str(sm2), "-subj", "/CN=ca", "-sm3", "-sigopt", DISTID,
         "-days", "2", "-out", str(cert))  # fmt: skip
    (tmp_path / "index.txt").write_text("")
    (tmp_path / "ca.cnf").write_text(
        f"[ca]\ndefault_ca=c\n[c]\ndatabase={tmp_path / 'index.txt'}\ndefault_md=sm3\ndefault_crl_days=1\n"
    )
    crl = tmp_path / "ca.crl"
    ossl(openssl_bin, "ca", "-config", str(tmp_path / "ca.cnf"), "-gencrl", "-keyfile", str(sm2), "-cert", str(cert),
         "-sigopt", DISTID, "-out", str(tmp_path / "crl.pem"))  # fmt: skip
    crl.write_bytes(ossl(openssl_bin, "crl", "-in", str(tmp_path / "crl.pem"), "-outform", "DER").stdout)
    for command in (
        ["crypto", "pubkey", str(crl)],
        ["crypto", "verify", "-p", str(crl), "-s", str(tmp_path / "sig"), str(tmp_path / "msg")],
    ):
        code, _, err = cli(capsys, *command)
        assert code == ExitCode.USAGE and "CRL, which holds no public key" in one_line(err)
    code, out, err = cli(capsys, "crypto", "inspect", "--issuer", str(cert), str(crl))
    assert code == 0 and "crl" in out and "verified with CN=ca" in out, err


def test_garbage_signature_file_is_bad_input(
    tmp_path: Path, openssl_bin: str, sm2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pub = tmp_path / "pub.pem"
    pub.write_bytes(ossl(openssl_bin, "pkey", "-in", str(sm2), "-pubout").stdout)
    (tmp_path / "msg").write_bytes(b"message")
    args = ["crypto", "verify", "-p", str(pub), "-s", str(tmp_path / "sig"), str(tmp_path / "msg")]
    for garbage in (b"not a signature at all\n", b"", b"\x30\x44" + bytes(68), bytes(range(256))):
        (tmp_path / "sig").write_bytes(garbage)
        code, _, err = cli(capsys, *args)
        assert code == ExitCode.USAGE, (garbage, err)
        assert "signature" in one_line(err)
    # A well-formed signature that does not verify still says so, with exit 1.
    (tmp_path / "other").write_bytes(b"another message")
    (tmp_path / "sig").write_bytes(
        ossl(openssl_bin, "dgst", "-sm3", "-sign", str(sm2), "-sigopt", DISTID, str(tmp_path / "other")).stdout
    )
    code, _, err = cli(capsys, *args)
    assert code == ExitCode.FAILED_CHECK and "does not verify" in one_line(err)


def test_openssl_csr_without_distid_names_the_sm2_id(
    tmp_path: Path, openssl_bin: str, sm2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    req = tmp_path / "req.pem"
    ossl(openssl_bin, "req", "-new", "-key", str(sm2), "-subj", "/CN=no distid", "-sm3", "-out", str(req))
    with pytest.raises(CertificateError, match=r"empty SM2 signer ID") as info:
        CertificationRequest.load(req.read_bytes()).verify()
    assert "-sigopt distid:1234567812345678" in str(info.value)
    code, _, err = cli(capsys, "crypto", "inspect", str(req))
    line = one_line(err)
    assert code == ExitCode.FAILED_CHECK and "empty SM2 signer ID" in line and f"-sigopt {DISTID}" in line
    # Another ID: not guessed, but the message still points at the signer ID.
    ossl(openssl_bin, "req", "-new", "-key", str(sm2), "-subj", "/CN=other id", "-sm3", "-sigopt", "distid:ALICE",
         "-out", str(req))  # fmt: skip
    code, _, err = cli(capsys, "crypto", "inspect", str(req))
    assert code == ExitCode.FAILED_CHECK and f"-sigopt {DISTID}" in one_line(err)
    # With the ID it verifies.
    ossl(openssl_bin, "req", "-new", "-key", str(sm2), "-subj", "/CN=ok", "-sm3", "-sigopt", DISTID, "-out", str(req))
    assert cli(capsys, "crypto", "inspect", str(req))[0] == 0


def test_inspect_escapes_names_and_warns_about_forged_looking_fields(
    tmp_path: Path, openssl_bin: str, sm2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    req = tmp_path / "req.pem"
    subject = "/CN=a, O=Forged Bank/O=证书助手 \u202etxt.exe"
    ossl(openssl_bin, "req", "-new", "-utf8", "-key", str(sm2), "-subj", subject, "-sm3", "-sigopt", DISTID,
         "-out", str(req))  # fmt: skip
    negative = tmp_path / "negative.pem"
    ossl(openssl_bin, "x509", "-req", "-in", str(req), "-key", str(sm2), "-set_serial", "-42", "-days", "1",
         "-sm3", "-sigopt", DISTID, "-vfyopt", DISTID, "-out", str(negative))  # fmt: skip
    assert "serial=-2A" in ossl(openssl_bin, "x509", "-in", str(negative), "-noout", "-serial").stdout.decode()
    code, out, err = cli(capsys, "crypto", "inspect", str(negative))
    assert code == 0, err
    assert "subject             O=证书助手 \\E2\\80\\AEtxt.exe, CN=a\\, O=Forged Bank\n" in out
    assert "serial              -2A\n" in out
    assert "WARNING: certificate serial number is negative (-2A); RFC 5280 requires a positive serial" in out

    (tmp_path / "index.txt").write_text("")
    (tmp_path / "serial").write_text("01\n")
    (tmp_path / "ca.cnf").write_text(
        f"[ca]\ndefault_ca=c\n[c]\ndatabase={tmp_path / 'index.txt'}\nnew_certs_dir={tmp_path}\n"
        f"serial={tmp_path / 'serial'}\ndefault_md=sm3\npolicy=p\n[p]\ncommonName=supplied\n"
    )
    year_zero = tmp_path / "year0.pem"
    ossl(openssl_bin, "ca", "-batch", "-config", str(tmp_path / "ca.cnf"), "-selfsign", "-keyfile", str(sm2),
         "-in", str(req), "-startdate", "00000101000000Z", "-enddate", "99991231235959Z", "-sigopt", DISTID,
         "-vfyopt", DISTID, "-out", str(year_zero))  # fmt: skip
    cert = Certificate.load(year_zero.read_bytes())
    cert.check_validity()  # compared as 0001-01-01; raised TypeError before
    code, out, err = cli(capsys, "crypto", "inspect", str(year_zero))
    assert code == 0, err
    assert "not before          0000-01-01T00:00:00+00:00\n" in out
    assert "WARNING: notBefore is in the year 0000 (00000101000000Z): not a real date" in out
    code, out, _ = cli(capsys, "crypto", "inspect", "--json", str(year_zero))
    assert '"warnings": [' in out and "year 0000" in out


def test_csr_with_invalid_utf8_cn_is_bad_input(
    tmp_path: Path, openssl_bin: str, sm2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """OpenSSL will not write one (-utf8 checks the text), so the CN of its CSR is replaced and re-signed."""
    raw_subject = os.fsdecode(b"/CN=ab\xff\xfe")  # the raw bytes reach openssl
    refused = ossl(openssl_bin, "req", "-new", "-utf8", "-key", str(sm2), "-subj", raw_subject, "-sm3", ok=False)
    assert refused.returncode != 0
    req = tmp_path / "req.der"
    ossl(openssl_bin, "req", "-new", "-key", str(sm2), "-subj", "/CN=abcd", "-sm3", "-sigopt", DISTID,
         "-outform", "DER", "-out", str(req))  # fmt: skip
    key = SM2PrivateKey.load(sm2.read_bytes())
    from gm.x509._common import der_tlv

    parsed = CertificationRequest.load(req.read_bytes()).asn1
    info = parsed["certification_request_info"].dump().replace(b"\x0c\x04abcd", b"\x0c\x04ab\xff\xfe")
    bad = der_tlv(0x30, info + parsed["signature_algorithm"].dump() + der_tlv(0x03, b"\x00" + key.sign(info)))
    req.write_bytes(bad)
    with pytest.raises(EncodingError, match="CN attribute is not valid utf-8"):
        CertificationRequest.load(bad)
    code, _, err = cli(capsys, "crypto", "inspect", str(req))
    assert code == ExitCode.USAGE and "not valid utf-8" in one_line(err)
