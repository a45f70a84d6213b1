"""Certificates, CSRs, CRLs and chain validation with SM2-with-SM3, including every refusal."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from asn1crypto import x509 as asn1_x509

from gm import asn1
from gm.errors import CertificateError, EncodingError
from gm.sm2 import SM2PrivateKey
from gm.x509 import (
    CA_KEY_USAGE,
    CRL,
    Certificate,
    CertificationRequest,
    RevokedEntry,
    build_certificate,
    build_crl,
    build_csr,
    build_name,
    name_text,
    verify_chain,
)
from tests.pki import Pki, make_pki

NOW = datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


def crl_for(pki: Pki, revoked: tuple = (), next_update_days: int = 7, key: SM2PrivateKey | None = None) -> CRL:
    return build_crl(
        issuer=pki.ca,
        issuer_key=key or pki.ca_key,
        revoked=[RevokedEntry(s, NOW - timedelta(hours=1), "key_compromise") for s in revoked],
        crl_number=7,
        this_update=NOW - timedelta(hours=1),
        next_update=NOW + timedelta(days=next_update_days),
    )


def test_certificate_fields(pki: Pki) -> None:
    leaf = pki.leaf
    assert leaf.subject_text == "CN=张三, O=某某商标代理有限公司, C=CN"
    assert leaf.common_name == "张三"
    assert leaf.issuer == pki.ca.subject
    assert not leaf.is_ca and pki.ca.is_ca and pki.ca.path_length == 0
    assert leaf.key_usage == frozenset({"digital_signature", "non_repudiation"})
    assert leaf.crl_urls == ["http://127.0.0.1:8765/crl/ca.crl"]
    assert leaf.authority_key_identifier == pki.ca.subject_key_identifier
    assert leaf.public_key == pki.leaf_key.public_key
    assert 363 <= leaf.days_left() <= 365
    assert leaf.serial_number.bit_length() >= 150
    assert leaf.asn1["signature_algorithm"]["algorithm"].dotted == asn1.OID_SM2_SM3


@pytest.mark.parametrize(
    "subject",
    [
        {"common_name": "张三", "country_name": "CN", "serial_number": "11010519491231002X"},
        {  # given in an order unlike the encoded one, an OID key included
            "serial_number": "91110000100000000X",
            "organization_name": "某某有限公司",
            "common_name": "某某有限公司",
            "organizational_unit_name": "法人",
            "country_name": "CN",
            "2.5.4.7": "北京",
        },
    ],
)
def test_name_text_of_a_dict_is_the_text_of_the_name_built_from_it(subject: dict) -> None:
    assert name_text(subject) == name_text(build_name(subject))


def test_certificate_encodings_round_trip(pki: Pki) -> None:
    assert Certificate.load(pki.leaf.to_pem()) == pki.leaf
    assert Certificate.load(pki.leaf.to_der()) == pki.leaf
    with pytest.raises(EncodingError):
        Certificate.load(b"\x30\x82\x01")
    with pytest.raises(EncodingError, match="expected PEM"):
        Certificate.load(crl_for(pki).to_pem())


def test_serials_are_unique_and_unpredictable(pki: Pki) -> None:
    serials = {
        build_certificate(
            subject={"common_name": "x"},
            public_key=pki.leaf_key.public_key,
            issuer=pki.ca,
            issuer_key=pki.ca_key,
            not_after=NOW + timedelta(days=1),
        ).serial_number
        for _ in range(20)
    }
    assert len(serials) == 20


def test_chain_verifies_with_and_without_crl(pki: Pki) -> None:
    assert verify_chain(pki.leaf, [pki.root], [pki.ca]) == [pki.leaf, pki.ca, pki.root]
    assert verify_chain(pki.leaf, [pki.root], [pki.ca], crls=[crl_for(pki, (123,))], require_crl=False)


def test_revoked_certificate_is_refused(pki: Pki) -> None:
    with pytest.raises(CertificateError) as info:
        verify_chain(pki.leaf, [pki.root], [pki.ca], crls=[crl_for(pki, (pki.leaf.serial_number,))])
    assert info.value.reason == "revoked"


def test_crl_signed_by_another_key_is_refused(pki: Pki) -> None:
    forged = crl_for(pki)
    tampered = CRL.from_der(forged.to_der()[:-8] + bytes(8))
    with pytest.raises(CertificateError) as info:
        verify_chain(pki.leaf, [pki.root], [pki.ca], crls=[tampered])
    assert info.value.reason in ("crl_signature", "algorithm")
    with pytest.raises(ValueError, match="does not belong"):
        crl_for(pki, key=SM2PrivateKey.generate())


def test_stale_crl_and_missing_crl_are_refused(pki: Pki) -> None:
    with pytest.raises(CertificateError) as info:
        verify_chain(pki.leaf, [pki.root], [pki.ca], crls=[crl_for(pki)], at=NOW + timedelta(days=8))
    assert info.value.reason == "crl_expired"
    with pytest.raises(CertificateError) as info:
        verify_chain(pki.leaf, [pki.root], [pki.ca], require_crl=True)
    assert info.value.reason == "crl_missing"


def test_expired_and_not_yet_valid_are_refused(pki: Pki) -> None:
    with pytest.raises(CertificateError) as info:
        verify_chain(pki.leaf, [pki.root], [pki.ca], at=NOW + timedelta(days=400))
    assert info.value.reason == "expired"
    with pytest.raises(CertificateError) as info:
        verify_chain(pki.leaf, [pki.root], [pki.ca], at=NOW - timedelta(days=2))
    assert info.value.reason == "not_yet_valid"


def test_untrusted_root_is_refused(pki: Pki) -> None:
    other = make_pki()
    with pytest.raises(CertificateError) as info:
        verify_chain(pki.leaf, [other.root], [pki.ca])
    assert info.value.reason == "untrusted"
    with pytest.raises(CertificateError) as info:
        verify_chain(pki.leaf, [pki.root], [])
    assert info.value.reason == "untrusted"


def test_tampered_certificate_is_refused(pki: Pki) -> None:
    tbs = asn1_x509.TbsCertificate.load(pki.leaf.asn1["tbs_certificate"].dump())
    tbs["subject"] = asn1_x509.Name.build({"common_name": "李四"})
    forged = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": pki.leaf.asn1["signature_algorithm"],
            "signature_value": pki.leaf.asn1["signature_value"],
        }
    )
    with pytest.raises(CertificateError) as info:
        verify_chain(Certificate.from_der(forged.dump()), [pki.root], [pki.ca])
    assert info.value.reason == "signature"


def test_signature_with_wrong_id_is_refused(pki: Pki) -> None:
    odd = build_certificate(
        subject={"common_name": "odd id"},
        public_key=pki.leaf_key.public_key,
        issuer=pki.ca,
        issuer_key=pki.ca_key,
        not_after=NOW + timedelta(days=1),
        signer_id=b"",
    )
    with pytest.raises(CertificateError) as info:
        verify_chain(odd, [pki.root], [pki.ca])
    assert info.value.reason == "signature"
    odd.verify_signature(pki.ca.public_key, signer_id=b"")  # the ID it was signed with works


def test_leaf_cannot_act_as_ca(pki: Pki) -> None:
    rogue_key = SM2PrivateKey.generate()
    rogue = build_certificate(
        subject={"common_name": "rogue"},
        public_key=rogue_key.public_key,
        issuer=pki.leaf,
        issuer_key=pki.leaf_key,
        not_after=NOW + timedelta(days=1),
    )
    with pytest.raises(CertificateError) as info:
        verify_chain(rogue, [pki.root], [pki.ca, pki.leaf])
    assert info.value.reason == "not_ca"


def test_path_length_and_key_usage_are_enforced(pki: Pki) -> None:
    sub_key = SM2PrivateKey.generate()
    sub_ca = build_certificate(
        subject={"common_name": "sub CA"},
        public_key=sub_key.public_key,
        issuer=pki.ca,
        issuer_key=pki.ca_key,
        not_after=NOW + timedelta(days=10),
        ca=True,
        key_usage=CA_KEY_USAGE,
    )
    below = build_certificate(
        subject={"common_name": "below"},
        public_key=pki.leaf_key.public_key,
        issuer=sub_ca,
        issuer_key=sub_key,
        not_after=NOW + timedelta(days=1),
    )
    with pytest.raises(CertificateError) as info:
        verify_chain(below, [pki.root], [pki.ca, sub_ca])
    assert info.value.reason == "path_length"
    no_sign_key = SM2PrivateKey.generate()
    no_sign = build_certificate(
        subject={"common_name": "CA without keyCertSign"},
        public_key=no_sign_key.public_key,
        issuer=pki.root,
        issuer_key=pki.root_key,
        not_after=NOW + timedelta(days=10),
        ca=True,
        key_usage={"digital_signature"},
    )
    child = build_certificate(
        subject={"common_name": "child"},
        public_key=pki.leaf_key.public_key,
        issuer=no_sign,
        issuer_key=no_sign_key,
        not_after=NOW + timedelta(days=1),
    )
    with pytest.raises(CertificateError) as info:
        verify_chain(child, [pki.root], [no_sign])
    assert info.value.reason == "key_usage"


def test_csr_proof_of_possession(pki: Pki) -> None:
    key = SM2PrivateKey.generate()
    req = build_csr({"common_name": "王五", "country_name": "CN"}, key)
    loaded = CertificationRequest.load(req.to_pem())
    loaded.verify()
    assert loaded.public_key == key.public_key and loaded.subject_text == "CN=王五, C=CN"
    info = req.asn1["certification_request_info"]
    info_copy = type(info).load(info.dump())
    info_copy["subject_pk_info"] = asn1_x509.PublicKeyInfo.load(SM2PrivateKey.generate().public_key.to_der())
    swapped = type(req.asn1)(
        {
            "certification_request_info": info_copy,
            "signature_algorithm": req.asn1["signature_algorithm"],
            "signature": req.asn1["signature"],
        }
    )
    with pytest.raises(CertificateError) as err:
        CertificationRequest.from_der(swapped.dump()).verify()
    assert err.value.reason == "signature"


def test_csr_with_requested_extensions(pki: Pki) -> None:
    req = build_csr(
        {"common_name": "ext"},
        SM2PrivateKey.generate(),
        requested_extensions=[{"extn_id": "key_usage", "critical": True, "extn_value": {"digital_signature"}}],
    )
    CertificationRequest.from_der(req.to_der()).verify()
    assert req.asn1["certification_request_info"]["attributes"][0]["type"].native == "extension_request"


def test_crl_fields_and_empty_list(pki: Pki) -> None:
    crl = crl_for(pki, (1, 2))
    assert [e.serial_number for e in crl.entries] == [1, 2]
    assert crl.entries[0].reason == "key_compromise"
    assert crl.crl_number == 7 and crl.issuer == pki.ca.subject
    assert CRL.load(crl.to_pem()).to_der() == crl.to_der()
    empty = crl_for(pki)
    assert empty.entries == [] and not empty.asn1["tbs_cert_list"]["revoked_certificates"].contents
    with pytest.raises(ValueError, match="revocation reason"):
        build_crl(
            issuer=pki.ca,
            issuer_key=pki.ca_key,
            revoked=[RevokedEntry(1, NOW, "bogus")],
            crl_number=1,
            next_update=NOW + timedelta(days=1),
        )


def test_generalized_time_after_2049(pki: Pki) -> None:
    late = build_certificate(
        subject={"common_name": "late"},
        public_key=pki.leaf_key.public_key,
        issuer=pki.root,
        issuer_key=pki.root_key,
        not_after=datetime(2051, 1, 1, tzinfo=timezone.utc),
    )
    assert late.asn1["tbs_certificate"]["validity"]["not_after"].name == "general_time"
    assert late.not_after.year == 2051


def test_builder_refuses_inconsistent_input(pki: Pki) -> None:
    with pytest.raises(ValueError, match="own key"):
        build_certificate(
            subject={"common_name": "x"},
            public_key=pki.leaf_key.public_key,
            issuer_key=pki.root_key,
            not_after=NOW + timedelta(days=1),
        )
    with pytest.raises(ValueError, match="does not belong"):
        build_certificate(
            subject={"common_name": "x"},
            public_key=pki.leaf_key.public_key,
            issuer=pki.ca,
            issuer_key=pki.root_key,
            not_after=NOW + timedelta(days=1),
        )
    with pytest.raises(ValueError, match="later"):
        build_certificate(
            subject={"common_name": "x"},
            public_key=pki.leaf_key.public_key,
            issuer=pki.ca,
            issuer_key=pki.ca_key,
            not_after=NOW - timedelta(days=1),
        )


def test_authority_information_access_names_the_issuers_certificate(pki: Pki) -> None:
    url = "http://127.0.0.1:8765/ca/issuing.cer"
    leaf = build_certificate(
        subject={"common_name": "aia"},
        public_key=pki.leaf_key.public_key,
        issuer=pki.ca,
        issuer_key=pki.ca_key,
        not_after=NOW + timedelta(days=1),
        ca_issuers_urls=[url],
    )
    again = Certificate.from_der(leaf.to_der())
    assert again.ca_issuers_urls == [url] and pki.ca.ca_issuers_urls == []
    assert asn1_x509.Certificate.load(leaf.to_der()).authority_information_access_value[0]["access_method"].native == (
        "ca_issuers"
    )


def test_a_name_from_pairs_keeps_their_order() -> None:
    pairs = [
        ("country_name", "CN"),
        ("organization_name", "某某公司"),
        ("common_name", "某某公司"),
        ("serial_number", "91350100M000100Y43"),
    ]
    name = build_name(pairs)
    assert [rdn[0]["type"].native for rdn in name.chosen] == [k for k, _v in pairs]
    assert name_text(name) == name_text(pairs) == "serialNumber=91350100M000100Y43, CN=某某公司, O=某某公司, C=CN"
    assert name.chosen[3][0]["value"].name == "printable_string"  # X.520: serialNumber is a PrintableString
    assert build_name(dict(pairs)).chosen[0][0]["type"].native == "serial_number"  # asn1crypto's order
