"""PKCS#12 with SM2 keys against the OpenSSL 3 command line: ours read by ``openssl pkcs12``, theirs read by us."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import List

import pytest
from asn1crypto import pkcs12 as a_pkcs12

from gm import pkcs12
from gm.errors import EncodingError, PasswordIncorrect
from gm.sm2 import SM2PrivateKey
from gm.x509 import Certificate
from tests.pki import make_pki

PASSWORD = "Backup-Pass-2026"


def run(openssl: str, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([openssl, *args], input=stdin, capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pkcs12.PfxContents]:
    pki = make_pki()
    enc_key = SM2PrivateKey.generate()
    contents = pkcs12.PfxContents(
        (
            pkcs12.PfxKey(pki.leaf_key, pki.leaf, "certassist:张三-20261130-abcdef:sign"),
            pkcs12.PfxKey(enc_key, None, "certassist:张三-20261130-abcdef:encrypt"),
        ),
        (pki.ca, pki.root),
    )
    path = tmp_path_factory.mktemp("p12") / "ours.pfx"
    path.write_bytes(pkcs12.dump(contents, PASSWORD))  # the default, full-cost scheme
    return path, contents


def test_openssl_reads_our_backup_with_the_password(openssl_bin: str, ours: tuple[Path, pkcs12.PfxContents]) -> None:
    path, contents = ours
    info = run(openssl_bin, "pkcs12", "-info", "-in", str(path), "-passin", f"pass:{PASSWORD}", "-nodes")
    assert info.returncode == 0, info.stderr
    text = info.stderr.decode() + info.stdout.decode()
    assert "MAC: sm3" in text and f"Iteration {pkcs12.ITERATIONS}" in text
    assert "PBES2, PBKDF2, SM4-CBC" in text and "PRF hmacWithSHA256" in text
    # the keys OpenSSL decrypted are ours, byte for byte (PKCS#8 as OpenSSL writes it)
    pems = [block for block in info.stdout.split(b"-----BEGIN PRIVATE KEY-----")[1:]]
    found = {SM2PrivateKey.from_pem(b"-----BEGIN PRIVATE KEY-----" + block).to_raw() for block in pems}
    assert found == {item.key.to_raw() for item in contents.keys}
    assert b"friendlyName: certassist:" in info.stdout
    certs = info.stdout.count(b"-----BEGIN CERTIFICATE-----")
    assert certs == 3  # the signing certificate and the chain


def test_openssl_refuses_a_wrong_password(openssl_bin: str, ours: tuple[Path, pkcs12.PfxContents]) -> None:
    path, _contents = ours
    wrong = run(openssl_bin, "pkcs12", "-info", "-in", str(path), "-passin", "pass:not-the-password", "-noout")
    assert wrong.returncode != 0 and b"Mac verify error" in wrong.stderr


@pytest.mark.parametrize(
    "scheme",
    [
        [],  # OpenSSL 3's default: PBKDF2-HMAC-SHA256 + AES-256-CBC, MAC SHA-256
        ["-keypbe", "SM4-CBC", "-certpbe", "SM4-CBC", "-macalg", "sm3"],
        ["-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"],  # older tools' choice
    ],
    ids=["default", "sm4-sm3", "legacy-3des"],
)
def test_we_read_what_openssl_exports(openssl_bin: str, tmp_path: Path, scheme: List[str]) -> None:
    pki = make_pki()
    (tmp_path / "key.pem").write_bytes(pki.leaf_key.to_pem())
    (tmp_path / "cert.pem").write_bytes(pki.leaf.to_pem())
    (tmp_path / "chain.pem").write_bytes(pki.ca.to_pem() + pki.root.to_pem())
    exported = run(
        openssl_bin, "pkcs12", "-export", "-inkey", str(tmp_path / "key.pem"), "-in", str(tmp_path / "cert.pem"),
        "-certfile", str(tmp_path / "chain.pem"), "-name", "张三", "-out", str(tmp_path / "x.p12"),
        "-passout", f"pass:{PASSWORD}", *scheme,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    contents = pkcs12.load((tmp_path / "x.p12").read_bytes(), PASSWORD)
    [item] = contents.keys
    assert item.key.to_raw() == pki.leaf_key.to_raw() and item.certificate == pki.leaf and item.name == "张三"
    assert set(contents.certificates) == {pki.ca, pki.root}
    with pytest.raises(PasswordIncorrect):
        pkcs12.load((tmp_path / "x.p12").read_bytes(), "wrong-password")


def test_damaged_files_are_refused_with_a_typed_error(ours: tuple[Path, pkcs12.PfxContents]) -> None:
    data = ours[0].read_bytes()
    for cut in (0, 1, 10, len(data) // 2, len(data) - 1):
        with pytest.raises(EncodingError):
            pkcs12.load(data[:cut], PASSWORD)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01  # inside the authenticated content: the MAC no longer fits
    with pytest.raises((PasswordIncorrect, EncodingError)):
        pkcs12.load(bytes(flipped), PASSWORD)


def test_a_file_asking_for_absurd_work_is_refused_before_it_is_done() -> None:
    pki = make_pki()
    data = pkcs12.dump(pkcs12.PfxContents((pkcs12.PfxKey(pki.leaf_key, pki.leaf),)), PASSWORD, iterations=1000)
    pfx = a_pkcs12.Pfx.load(data)
    pfx["mac_data"]["iterations"] = pkcs12.MAX_ITERATIONS + 1  # about an hour of work, if it were done
    with pytest.raises(EncodingError, match="rounds"):
        pkcs12.load(pfx.dump(force=True), PASSWORD)


def test_a_certificate_paired_with_another_key_is_refused() -> None:
    pki = make_pki()
    other = SM2PrivateKey.generate()
    data = pkcs12.dump(pkcs12.PfxContents((pkcs12.PfxKey(other, None, "x"),), (pki.leaf,)), PASSWORD, iterations=1000)
    contents = pkcs12.load(data, PASSWORD)  # a certificate for no key in the file is part of the chain
    assert contents.keys[0].certificate is None and contents.certificates == (pki.leaf,)
    assert isinstance(contents.certificates[0], Certificate)
