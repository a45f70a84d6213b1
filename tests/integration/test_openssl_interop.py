"""Interoperability with the OpenSSL 3 command line, in both directions.

OpenSSL 3.0 uses an empty SM2 ID unless told otherwise, so every OpenSSL call here passes the GM/T
default ID explicitly (``distid:1234567812345678``). Its ``verify`` applies ``-vfyopt`` only to the
target certificate and never to CRL signatures, so a chain is checked link by link and CRL
signatures with ``openssl dgst`` over the tbsCertList.
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List

import pytest

from gm import sm4
from gm.sm2 import CiphertextFormat, SM2PrivateKey, SM2PublicKey
from gm.sm3 import sm3
from gm.x509 import CRL, Certificate, CertificationRequest, RevokedEntry, build_crl, verify_chain
from tests.pki import Pki, make_pki

pytestmark = pytest.mark.integration

DISTID = "distid:1234567812345678"


def ossl(openssl_bin: str, *args: str, ok: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([openssl_bin, *args], input=stdin, capture_output=True, check=False, timeout=60)
    if ok and result.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
    return result


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


# -- keys ------------------------------------------------------------------------------------


def test_gm_keys_read_by_openssl(tmp_path: Path, openssl_bin: str, sm2_key: SM2PrivateKey) -> None:
    key = write(tmp_path / "k.pem", sm2_key.to_pem())
    text = ossl(openssl_bin, "pkey", "-in", key, "-noout", "-text").stdout.decode()
    assert "ASN1 OID: SM2" in text
    pub = ossl(openssl_bin, "pkey", "-in", key, "-pubout").stdout
    assert SM2PublicKey.load(pub) == sm2_key.public_key
    pkcs8 = ossl(openssl_bin, "pkcs8", "-topk8", "-nocrypt", "-in", key, "-outform", "DER").stdout
    assert pkcs8 == sm2_key.to_der()  # byte-identical PKCS#8


def test_openssl_keys_read_by_gm(tmp_path: Path, openssl_bin: str) -> None:
    key = tmp_path / "o.pem"
    ossl(openssl_bin, "genpkey", "-algorithm", "SM2", "-out", str(key))
    loaded = SM2PrivateKey.load(key.read_bytes())
    traditional = ossl(openssl_bin, "ec", "-in", str(key)).stdout  # "BEGIN SM2 PRIVATE KEY" (SEC1)
    assert SM2PrivateKey.load(traditional) == loaded
    pub_der = ossl(openssl_bin, "pkey", "-in", str(key), "-pubout", "-outform", "DER").stdout
    assert SM2PublicKey.load(pub_der) == loaded.public_key


# -- signatures ------------------------------------------------------------------------------


def test_gm_signature_verified_by_openssl(tmp_path: Path, openssl_bin: str, sm2_key: SM2PrivateKey) -> None:
    msg = write(tmp_path / "msg", b"signed by gm")
    pub = write(tmp_path / "pub.pem", sm2_key.public_key.to_pem())
    sig = write(tmp_path / "sig", sm2_key.sign(b"signed by gm"))
    out = ossl(openssl_bin, "dgst", "-sm3", "-verify", pub, "-sigopt", DISTID, "-signature", sig, msg)
    assert b"Verified OK" in out.stdout
    write(tmp_path / "msg", b"signed by gm!")
    assert (
        ossl(
            openssl_bin, "dgst", "-sm3", "-verify", pub, "-sigopt", DISTID, "-signature", sig, msg, ok=False
        ).returncode
        != 0
    )


def test_openssl_signature_verified_by_gm(tmp_path: Path, openssl_bin: str, sm2_key: SM2PrivateKey) -> None:
    key = write(tmp_path / "k.pem", sm2_key.to_pem())
    msg = write(tmp_path / "msg", b"signed by openssl")
    sig = ossl(openssl_bin, "dgst", "-sm3", "-sign", key, "-sigopt", DISTID, msg).stdout
    sm2_key.public_key.verify(sig, b"signed by openssl")


def test_openssl_empty_id_default_is_not_the_gm_default(
    tmp_path: Path, openssl_bin: str, sm2_key: SM2PrivateKey
) -> None:
    """The pitfall DESIGN.md warns about: without distid, OpenSSL 3.0 signs with an empty ID."""
    from gm.errors import InvalidSignature

    key = write(tmp_path / "k.pem", sm2_key.to_pem())
    msg = write(tmp_path / "msg", b"no id")
    sig = ossl(openssl_bin, "dgst", "-sm3", "-sign", key, msg).stdout
    with pytest.raises(InvalidSignature):
        sm2_key.public_key.verify(sig, b"no id")
    sm2_key.public_key.verify(sig, b"no id", signer_id=b"")


# -- encryption ------------------------------------------------------------------------------


def test_gm_ciphertext_decrypted_by_openssl(tmp_path: Path, openssl_bin: str, sm2_key: SM2PrivateKey) -> None:
    key = write(tmp_path / "k.pem", sm2_key.to_pem())
    ct = write(tmp_path / "ct", sm2_key.public_key.encrypt(b"for openssl", CiphertextFormat.DER))
    assert ossl(openssl_bin, "pkeyutl", "-decrypt", "-inkey", key, "-in", ct).stdout == b"for openssl"


def test_openssl_ciphertext_decrypted_by_gm(tmp_path: Path, openssl_bin: str, sm2_key: SM2PrivateKey) -> None:
    pub = write(tmp_path / "pub.pem", sm2_key.public_key.to_pem())
    ct = ossl(openssl_bin, "pkeyutl", "-encrypt", "-pubin", "-inkey", pub, stdin=b"from openssl").stdout
    assert sm2_key.decrypt(ct) == b"from openssl"


# -- SM3 / SM4 -------------------------------------------------------------------------------


def test_sm3_matches_openssl(openssl_bin: str) -> None:
    data = bytes(range(256)) * 40
    out = ossl(openssl_bin, "dgst", "-sm3", "-r", stdin=data).stdout.split()[0].decode()
    assert out == sm3(data).hex()


def test_sm4_cbc_matches_openssl(openssl_bin: str) -> None:
    key, iv, data = bytes(range(16)), bytes(range(16, 32)), b"SM4-CBC interop with padding!"
    out = ossl(openssl_bin, "enc", "-sm4-cbc", "-K", key.hex(), "-iv", iv.hex(), stdin=data).stdout
    assert out == sm4.cbc_encrypt(key, iv, data)
    back = ossl(openssl_bin, "enc", "-d", "-sm4-cbc", "-K", key.hex(), "-iv", iv.hex(), stdin=out).stdout
    assert back == data


# -- certificates, CSRs, CRLs made here -------------------------------------------------------


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


def test_gm_certificates_accepted_by_openssl(tmp_path: Path, openssl_bin: str, pki: Pki) -> None:
    root, ca, leaf = (
        write(tmp_path / f"{n}.pem", c.to_pem()) for n, c in (("root", pki.root), ("ca", pki.ca), ("leaf", pki.leaf))
    )
    text = ossl(openssl_bin, "x509", "-in", leaf, "-noout", "-text").stdout.decode()
    assert "Signature Algorithm: SM2-with-SM3" in text and "ASN1 OID: SM2" in text
    assert "URI:http://127.0.0.1:8765/crl/ca.crl" in text
    verify = ["verify", "-vfyopt", DISTID]
    # the root's self-signature: `verify` would check it with the store's copy and an empty ID
    tbs = write(tmp_path / "tbs", pki.root.asn1["tbs_certificate"].dump())
    sig = write(tmp_path / "sig", pki.root.asn1["signature_value"].native)
    pub = write(tmp_path / "root.pub", pki.root.public_key.to_pem())
    assert (
        b"Verified OK"
        in ossl(openssl_bin, "dgst", "-sm3", "-verify", pub, "-sigopt", DISTID, "-signature", sig, tbs).stdout
    )
    assert b": OK" in ossl(openssl_bin, *verify, "-CAfile", root, ca).stdout
    assert b": OK" in ossl(openssl_bin, *verify, "-partial_chain", "-CAfile", ca, leaf).stdout
    # and refuses the wrong issuer and an altered certificate
    assert ossl(openssl_bin, *verify, "-partial_chain", "-CAfile", root, leaf, ok=False).returncode != 0
    der = bytearray(pki.leaf.to_der())
    der[-5] ^= 1
    bad = write(tmp_path / "bad.der", bytes(der))
    result = ossl(openssl_bin, *verify, "-partial_chain", "-CAfile", ca, bad, ok=False)
    assert result.returncode != 0


def test_gm_csr_accepted_by_openssl(tmp_path: Path, openssl_bin: str) -> None:
    from gm.x509 import build_csr

    req = write(tmp_path / "req.pem", build_csr({"common_name": "赵六"}, SM2PrivateKey.generate()).to_pem())
    out = ossl(openssl_bin, "req", "-in", req, "-noout", "-verify", "-vfyopt", DISTID)
    assert b"verify OK" in out.stdout + out.stderr


def _tbs_and_signature(crl: CRL) -> tuple[bytes, bytes]:
    return crl.asn1["tbs_cert_list"].dump(), crl.asn1["signature"].native


def test_gm_crl_accepted_by_openssl(tmp_path: Path, openssl_bin: str, pki: Pki) -> None:
    now = datetime.now(timezone.utc)
    crl = build_crl(
        issuer=pki.ca,
        issuer_key=pki.ca_key,
        revoked=[RevokedEntry(pki.leaf.serial_number, now, "superseded")],
        crl_number=3,
        next_update=now + timedelta(days=7),
    )
    path = write(tmp_path / "crl.pem", crl.to_pem())
    text = ossl(openssl_bin, "crl", "-in", path, "-noout", "-text").stdout.decode()
    assert f"Serial Number: {pki.leaf.serial_number:X}\n" in text
    assert "Superseded" in text and "Signature Algorithm: SM2-with-SM3" in text
    tbs, sig = _tbs_and_signature(crl)
    args = [
        "dgst",
        "-sm3",
        "-verify",
        write(tmp_path / "ca.pub", pki.ca.public_key.to_pem()),
        "-sigopt",
        DISTID,
    ]
    out = ossl(openssl_bin, *args, "-signature", write(tmp_path / "sig", sig), write(tmp_path / "tbs", tbs))
    assert b"Verified OK" in out.stdout
    assert (
        ossl(
            openssl_bin,
            *args,
            "-signature",
            write(tmp_path / "sig", sig),
            write(tmp_path / "tbs", tbs + b"\0"),
            ok=False,
        ).returncode
        != 0
    )


# -- certificates, CSRs, CRLs made by OpenSSL --------------------------------------------------

CA_CONFIG = """
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = {dir}
database = $dir/index.txt
crlnumber = $dir/crlnumber
new_certs_dir = $dir
default_md = sm3
default_crl_days = 7
policy = any
[ any ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[ v3_leaf ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
authorityKeyIdentifier = keyid
"""


def test_openssl_pki_verified_by_gm(tmp_path: Path, openssl_bin: str) -> None:
    d = tmp_path
    cnf = write(d / "ca.cnf", CA_CONFIG.format(dir=d).encode())
    (d / "index.txt").write_text("")
    (d / "crlnumber").write_text("01\n")
    for name in ("root", "leaf"):
        ossl(openssl_bin, "genpkey", "-algorithm", "SM2", "-out", str(d / f"{name}.key"))
    sig = ["-sm3", "-sigopt", DISTID]
    ossl(
        openssl_bin,
        "req",
        "-config",
        cnf,
        "-x509",
        "-new",
        "-key",
        str(d / "root.key"),
        *sig,
        "-subj",
        "/C=CN/CN=OpenSSL SM2 Root",
        "-days",
        "30",
        "-extensions",
        "v3_ca",
        "-out",
        str(d / "root.pem"),
    )
    ossl(
        openssl_bin,
        "req",
        "-config",
        cnf,
        "-new",
        "-key",
        str(d / "leaf.key"),
        *sig,
        "-subj",
        "/C=CN/CN=OpenSSL Leaf",
        "-out",
        str(d / "leaf.csr"),
    )
    ossl(
        openssl_bin,
        "x509",
        "-req",
        "-in",
        str(d / "leaf.csr"),
        "-CA",
        str(d / "root.pem"),
        "-CAkey",
        str(d / "root.key"),
        *sig,
        "-vfyopt",
        DISTID,
        "-set_serial",
        "0x1234",
        "-days",
        "10",
        "-extfile",
        cnf,
        "-extensions",
        "v3_leaf",
        "-out",
        str(d / "leaf.pem"),
    )

    root = Certificate.load((d / "root.pem").read_bytes())
    leaf = Certificate.load((d / "leaf.pem").read_bytes())
    CertificationRequest.load((d / "leaf.csr").read_bytes()).verify()
    assert verify_chain(leaf, [root]) == [leaf, root]
    assert leaf.public_key == SM2PrivateKey.load((d / "leaf.key").read_bytes()).public_key

    # Revoke with `openssl ca`, then check gm reads the CRL, verifies it and sees the revocation.
    expiry = datetime.now(timezone.utc) + timedelta(days=10)
    (d / "index.txt").write_text(f"V\t{expiry:%y%m%d%H%M%SZ}\t\t1234\tunknown\t/C=CN/CN=OpenSSL Leaf\n")
    ca_args: List[str] = ["ca", "-config", cnf, "-keyfile", str(d / "root.key"), "-cert", str(d / "root.pem")]
    ossl(openssl_bin, *ca_args, "-revoke", str(d / "leaf.pem"), "-crl_reason", "keyCompromise")
    ossl(openssl_bin, *ca_args, "-gencrl", "-sigopt", DISTID, "-out", str(d / "crl.pem"))
    crl = CRL.load((d / "crl.pem").read_bytes())
    crl.verify_signature(root.public_key)
    assert crl.is_revoked(0x1234) is not None
    from gm.errors import CertificateError

    with pytest.raises(CertificateError) as info:
        verify_chain(leaf, [root], crls=[crl])
    assert info.value.reason == "revoked"
