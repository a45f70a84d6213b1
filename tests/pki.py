"""A small SM2 PKI (root -> issuing CA -> leaf) for tests, built with gm.x509."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from gm.sm2 import SM2PrivateKey
from gm.x509 import CA_KEY_USAGE, Certificate, build_certificate, build_csr


@dataclass
class Pki:
    root_key: SM2PrivateKey
    root: Certificate
    ca_key: SM2PrivateKey
    ca: Certificate
    leaf_key: SM2PrivateKey
    leaf: Certificate


def make_pki(now: Optional[datetime] = None, leaf_days: int = 365) -> Pki:
    now = now or datetime.now(timezone.utc)
    root_key, ca_key, leaf_key = (SM2PrivateKey.generate() for _ in range(3))
    root = build_certificate(
        subject={
            "country_name": "CN",
            "organization_name": "证书助手测试",
            "common_name": "CertAssist Test Root",
        },
        public_key=root_key.public_key,
        issuer_key=root_key,
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=3650),
        ca=True,
        path_length=1,
        key_usage=CA_KEY_USAGE,
    )
    ca = build_certificate(
        subject={
            "country_name": "CN",
            "organization_name": "证书助手测试",
            "common_name": "CertAssist Test CA",
        },
        public_key=ca_key.public_key,
        issuer=root,
        issuer_key=root_key,
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=1825),
        ca=True,
        path_length=0,
        key_usage=CA_KEY_USAGE,
        crl_urls=["http://127.0.0.1:8765/crl/root.crl"],
    )
    request = build_csr(
        {"country_name": "CN", "organization_name": "某某商标代理有限公司", "common_name": "张三"}, leaf_key
    )
    request.verify()
    leaf = build_certificate(
        subject=request.subject,
        public_key=request.public_key,
        issuer=ca,
        issuer_key=ca_key,
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=leaf_days),
        crl_urls=["http://127.0.0.1:8765/crl/ca.crl"],
    )
    return Pki(root_key, root, ca_key, ca, leaf_key, leaf)
