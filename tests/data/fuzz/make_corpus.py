#!/usr/bin/env python3
"""Regenerate the seed corpus of the parser fuzz test (tests/unit/test_parser_fuzz.py).

The corpus is committed so that a fuzz run is deterministic (same seeds, same mutations, same inputs)
and a failure reported as "<seed file> case N" reproduces anywhere. Seeds come from both sides: the
OpenSSL 3 command line and gm itself. The keys here are test keys, made for this corpus only.

    .venv/bin/python tests/data/fuzz/make_corpus.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent.parent))

from gm.envelope import envelope_key  # noqa: E402
from gm.sm2 import SM2PrivateKey  # noqa: E402
from gm.x509 import RevokedEntry, build_crl, build_csr  # noqa: E402
from tests.pki import make_pki  # noqa: E402

DISTID = "distid:1234567812345678"
EXTENSIONS = """
[ req ]
distinguished_name = dn
[ dn ]
[ v3_ca ]
basicConstraints = critical, CA:true, pathlen:1
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_leaf ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = clientAuth, emailProtection
subjectAltName = email:zhangsan@example.com, DNS:example.com, IP:127.0.0.1
crlDistributionPoints = URI:http://127.0.0.1/crl/ca.crl
authorityInfoAccess = caIssuers;URI:http://127.0.0.1/ca.cer
certificatePolicies = 1.2.156.112570.1.1
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash
"""


def openssl(*args: str) -> bytes:
    return subprocess.run(["openssl", *args], check=True, capture_output=True).stdout


def main() -> None:
    now = datetime.now(timezone.utc)
    pki = make_pki(now, leaf_days=3650)
    files = {
        "cert-gm-leaf.der": pki.leaf.to_der(),
        "cert-gm-ca.der": pki.ca.to_der(),
        "csr-gm.der": build_csr(
            {"country_name": "CN", "organization_name": "某某商标代理有限公司", "common_name": "张三"},
            pki.leaf_key,
            requested_extensions=[{"extn_id": "key_usage", "critical": True, "extn_value": {"digital_signature"}}],
        ).to_der(),
        "crl-gm.der": build_crl(
            issuer=pki.ca,
            issuer_key=pki.ca_key,
            revoked=[
                RevokedEntry(pki.leaf.serial_number, now, "superseded"),
                RevokedEntry(0x1234, now - timedelta(days=1), None),
                RevokedEntry(0x5678, now - timedelta(days=2), "key_compromise"),
            ],
            crl_number=7,
            next_update=now + timedelta(days=3650),
        ).to_der(),
        "key-pkcs8.der": pki.leaf_key.to_der(),
        "key-spki.der": pki.leaf_key.public_key.to_der(),
        "sig.der": pki.leaf_key.sign(b"fuzz message"),
        "cipher.der": pki.leaf_key.public_key.encrypt(b"fuzz plaintext"),
    }
    envelope = envelope_key(SM2PrivateKey.generate(), pki.leaf_key.public_key)
    files["envelope.der"] = envelope.to_der()
    files["envelope.skfblob"] = envelope.to_skf_blob()

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        key = d / "leaf.key"
        key.write_bytes(pki.leaf_key.to_pem())
        root_key = d / "root.key"
        root_key.write_bytes(pki.ca_key.to_pem())
        (d / "ext.cnf").write_text(EXTENSIONS)
        cnf = str(d / "ext.cnf")
        files["key-sec1.der"] = openssl("ec", "-in", str(key), "-outform", "DER")
        sig = ["-sm3", "-sigopt", DISTID]
        root = d / "root.pem"
        openssl(
            "req",
            "-config",
            cnf,
            "-x509",
            "-new",
            "-key",
            str(root_key),
            *sig,
            "-subj",
            "/C=CN/O=OpenSSL 测试/CN=OpenSSL SM2 Root",
            "-days",
            "3650",
            "-extensions",
            "v3_ca",
            "-out",
            str(root),
        )
        files["cert-openssl-root.der"] = openssl("x509", "-in", str(root), "-outform", "DER")
        csr = d / "leaf.csr"
        openssl(
            "req",
            "-config",
            cnf,
            "-new",
            "-key",
            str(key),
            *sig,
            "-subj",
            "/C=CN/ST=北京/L=海淀/O=某某公司/OU=研发/CN=李四/emailAddress=lisi@example.com",
            "-addext",
            "subjectAltName=DNS:example.com",
            "-out",
            str(csr),
        )
        files["csr-openssl.der"] = openssl("req", "-in", str(csr), "-outform", "DER")
        leaf = d / "leaf.pem"
        openssl(
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(root),
            "-CAkey",
            str(root_key),
            *sig,
            "-vfyopt",
            DISTID,
            "-set_serial",
            "0x0123456789abcdef",
            "-days",
            "3650",
            "-extfile",
            cnf,
            "-extensions",
            "v3_leaf",
            "-out",
            str(leaf),
        )
        files["cert-openssl-leaf.der"] = openssl("x509", "-in", str(leaf), "-outform", "DER")
        index = d / "index.txt"
        expiry = now + timedelta(days=3650)
        index.write_text(
            f"R\t{expiry:%y%m%d%H%M%SZ}\t{now:%y%m%d%H%M%SZ},keyCompromise\t0123456789ABCDEF\tunknown\t/CN=李四\n"
        )
        (d / "crlnumber").write_text("10\n")
        (d / "ca.cnf").write_text(
            f"[ ca ]\ndefault_ca = c\n[ c ]\ndatabase = {index}\ncrlnumber = {d / 'crlnumber'}\n"
            "default_md = sm3\ndefault_crl_days = 3650\ncrl_extensions = crl_ext\n"
            "[ crl_ext ]\nauthorityKeyIdentifier = keyid\n"
        )
        crl = d / "crl.pem"
        openssl(
            "ca",
            "-config",
            str(d / "ca.cnf"),
            "-gencrl",
            "-keyfile",
            str(root_key),
            "-cert",
            str(root),
            "-sigopt",
            DISTID,
            "-out",
            str(crl),
        )
        files["crl-openssl.der"] = openssl("crl", "-in", str(crl), "-outform", "DER")

    for name, data in sorted(files.items()):
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")
    (HERE / "README.md").write_text(
        "Seed corpus of `tests/unit/test_parser_fuzz.py` (test-only keys and certificates).\n"
        "Regenerate with `.venv/bin/python tests/data/fuzz/make_corpus.py`; `key-pkcs8.der` is the key the\n"
        "signature, ciphertext and envelopes are for, and the subject key of `cert-gm-leaf.der`.\n"
    )


if __name__ == "__main__":
    main()
