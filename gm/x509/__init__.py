"""X.509 certificates, PKCS#10 requests and CRLs signed with SM2-with-SM3 (GM/T 0015), via asn1crypto.

Everything built here is accepted by the OpenSSL command line, and SM2 certificates made by OpenSSL
parse and verify here. The signer ID defaults to 1234567812345678 everywhere.
"""

from __future__ import annotations

from gm.x509._common import build_name, key_identifier, name_text, random_serial
from gm.x509.certificate import (
    CA_KEY_USAGE,
    ENCRYPTION_KEY_USAGE,
    SIGNING_KEY_USAGE,
    Certificate,
    build_certificate,
)
from gm.x509.chain import verify_chain
from gm.x509.crl import CRL, RevokedEntry, build_crl
from gm.x509.csr import CertificationRequest, build_csr

__all__ = [
    "CA_KEY_USAGE",
    "CRL",
    "ENCRYPTION_KEY_USAGE",
    "SIGNING_KEY_USAGE",
    "Certificate",
    "CertificationRequest",
    "RevokedEntry",
    "build_certificate",
    "build_crl",
    "build_csr",
    "build_name",
    "key_identifier",
    "name_text",
    "random_serial",
    "verify_chain",
]
