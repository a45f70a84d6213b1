"""Issue 13.10-13.12 in gm: crash classes found by the attack run and the fuzzer, each a typed error now.

Inputs made by the OpenSSL command line are in tests/integration/test_openssl_malformed.py; the fuzz
test is tests/unit/test_parser_fuzz.py. Here: crafted structures OpenSSL will not write.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, List

import pytest
from asn1crypto import core, x509

from gm import asn1, detect
from gm.envelope import EnvelopedKey
from gm.errors import CertificateError, EncodingError, InvalidKey, InvalidSignature, MalformedSignature
from gm.pem import armor, decode, is_pem, unarmor
from gm.sm2 import SignatureFormat, SM2PrivateKey, SM2PublicKey, signature_to_der
from gm.x509 import CA_KEY_USAGE, CRL, Certificate, CertificationRequest, build_certificate, name_text, verify_chain
from gm.x509._common import der_tlv, sign_tbs
from tests.mutator import Node, parse
from tests.pki import make_pki

CORPUS = Path(__file__).resolve().parent.parent / "data" / "fuzz"
NOW = datetime.now(timezone.utc)


def seed(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def spki(algorithm: str, parameters: object, point: bytes) -> bytes:
    alg = {"algorithm": algorithm} if parameters is None else {"algorithm": algorithm, "parameters": parameters}
    return bytes(asn1.SubjectPublicKeyInfo({"algorithm": alg, "public_key": point}).dump())


# -- keys ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("parameters", [core.ObjectIdentifier(asn1.OID_SM2_CURVE), None, core.Null()])
def test_sm2_algorithm_oid_is_an_sm2_key(sm2_key: SM2PrivateKey, parameters: object) -> None:
    """GM/T 0015 allows the SM2 OID as the key algorithm (OpenSSL 3.0 < 3.0.13, USB key middleware, TPMs)."""
    der = spki(asn1.OID_SM2_CURVE, parameters, sm2_key.public_key.to_raw())
    assert SM2PublicKey.load(der) == sm2_key.public_key
    assert SM2PublicKey.load(der).to_der() != der  # written back in the RFC 5480 form OpenSSL writes
    alg = {"algorithm": asn1.OID_SM2_CURVE}
    if parameters is not None:
        alg["parameters"] = parameters  # type: ignore[assignment]
    ec_key = asn1.ECPrivateKey(
        {"version": 1, "private_key": sm2_key.to_raw(), "public_key": sm2_key.public_key.to_raw()}
    )
    pkcs8 = asn1.PrivateKeyInfo({"version": 0, "algorithm": alg, "private_key": ec_key.dump()}).dump()
    assert SM2PrivateKey.load(pkcs8) == sm2_key


def test_sm2_algorithm_oid_naming_another_curve_is_refused(sm2_key: SM2PrivateKey) -> None:
    der = spki(asn1.OID_SM2_CURVE, core.ObjectIdentifier("1.2.840.10045.3.1.7"), sm2_key.public_key.to_raw())
    with pytest.raises(InvalidKey, match="secp256r1"):
        SM2PublicKey.load(der)


@pytest.mark.parametrize("parameters", [None, core.Null()])
def test_ec_key_without_curve_parameters_is_refused(sm2_key: SM2PrivateKey, parameters: object) -> None:
    with pytest.raises(InvalidKey, match="without curve parameters"):
        SM2PublicKey.load(spki(asn1.OID_EC_PUBLIC_KEY, parameters, sm2_key.public_key.to_raw()))
    sec1 = asn1.ECPrivateKey({"version": 1, "private_key": sm2_key.to_raw()}).dump()
    with pytest.raises(InvalidKey, match="without curve parameters"):
        SM2PrivateKey.load(sec1)


def test_unknown_key_algorithms_are_named() -> None:
    point = b"\x04" + bytes(64)
    with pytest.raises(InvalidKey, match="Diffie-Hellman"):
        SM2PublicKey.load(spki("1.2.840.113549.1.3.1", core.Null(), point))
    with pytest.raises(InvalidKey, match=r"algorithm 1\.2\.3\.4"):
        SM2PublicKey.load(spki("1.2.3.4", None, point))


def test_empty_bit_string_key_is_an_encoding_error() -> None:
    """asn1crypto raised IndexError for an empty BIT STRING (keys, certificates, envelopes)."""
    der = der_tlv(0x30, bytes.fromhex("301306072a8648ce3d020106082a811ccf5501822d") + b"\x03\x00")
    with pytest.raises(EncodingError):
        SM2PublicKey.load(der)


# -- signatures ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [b"", b"garbage signature", b"\x30\x00", b"\x30\x06\x02\x01\x00\x02\x01\x01", b"\xff" * 71],
)
def test_malformed_signature_is_bad_input_and_does_not_verify(sm2_key: SM2PrivateKey, bad: bytes) -> None:
    with pytest.raises(MalformedSignature) as info:
        sm2_key.public_key.verify(bad, b"m")
    assert isinstance(info.value, EncodingError) and isinstance(info.value, InvalidSignature)


def test_non_canonical_der_signature_is_malformed(sm2_key: SM2PrivateKey) -> None:
    der = sm2_key.sign(b"m")
    r_len = der[3]
    padded_r = b"\x02" + bytes([r_len + 1]) + b"\x00" + der[4 : 4 + r_len]  # a leading zero: BER, not DER
    ber = der_tlv(0x30, padded_r + der[4 + r_len :])
    with pytest.raises(MalformedSignature):  # "not canonical", or "more than 33 bytes" when r had 33
        sm2_key.public_key.verify(ber, b"m")
    with pytest.raises(MalformedSignature, match="canonical"):
        sm2_key.public_key.verify(bytes.fromhex("300702020005020107"), b"m")  # r = 5 as 00 05
    with pytest.raises(MalformedSignature):
        sm2_key.public_key.verify(der + b"\x00", b"m")
    with pytest.raises(MalformedSignature):
        sm2_key.public_key.verify(bytes(64), b"m", fmt=SignatureFormat.RAW)  # r = s = 0


def test_well_formed_wrong_signature_is_not_malformed(sm2_key: SM2PrivateKey) -> None:
    other = SM2PrivateKey.generate().sign(b"m")
    with pytest.raises(InvalidSignature) as info:
        sm2_key.public_key.verify(other, b"m")
    assert not isinstance(info.value, MalformedSignature)
    with pytest.raises(MalformedSignature):
        signature_to_der(b"\x01" * 63)


# -- certificates, CSRs, CRLs ----------------------------------------------------------------------


def _signed_certificate_with_subject(subject_der: bytes, key: SM2PrivateKey) -> bytes:
    """A certificate whose subject is ``subject_der`` exactly, signed with gm (structures OpenSSL refuses)."""
    template = build_certificate(
        subject={"common_name": "template"},
        public_key=key.public_key,
        issuer_key=key,
        not_after=NOW + timedelta(days=1),
    )
    tbs = template.asn1["tbs_certificate"]
    parts = [tbs[name].dump() for name in ("version", "serial_number", "signature", "issuer", "validity")]
    tbs_der = der_tlv(
        0x30,
        b"".join(parts) + subject_der + tbs["subject_public_key_info"].dump() + tbs["extensions"].untag().dump(),
    )
    signature = sign_tbs(tbs_der, key, b"1234567812345678")
    algorithm = template.asn1["signature_algorithm"].dump()
    return der_tlv(0x30, tbs_der + algorithm + der_tlv(0x03, b"\x00" + signature))


def _name(*atvs: bytes) -> bytes:
    return der_tlv(0x30, b"".join(der_tlv(0x31, der_tlv(0x30, atv)) for atv in atvs))


CN = core.ObjectIdentifier("2.5.4.3").dump()


def test_deeply_nested_name_value_is_an_encoding_error(sm2_key: SM2PrivateKey) -> None:
    """asn1crypto recursed into a 3000-deep value until RecursionError."""
    nested = b"\x05\x00"
    for _ in range(3000):
        nested = der_tlv(0x30, nested)
    der = _signed_certificate_with_subject(_name(core.ObjectIdentifier("1.2.3.4").dump() + nested), sm2_key)
    with pytest.raises(EncodingError, match="nested too deeply"):
        Certificate.from_der(der)


def test_invalid_utf8_in_a_certificate_name_is_an_encoding_error(sm2_key: SM2PrivateKey) -> None:
    der = _signed_certificate_with_subject(_name(CN + der_tlv(0x0C, b"ab\xff\xfe")), sm2_key)
    with pytest.raises(EncodingError, match="not valid utf-8"):
        Certificate.from_der(der)


def test_name_text_is_escaped_per_rfc4514() -> None:
    name = x509.Name.build({"common_name": "a, O=Forged Bank", "organization_name": '#1 "x" <y>;z\\ '})
    assert name_text(name) == 'CN=a\\, O=Forged Bank, O=\\#1 \\"x\\" \\<y\\>\\;z\\\\\\ '
    assert name_text({"common_name": "a, O=Forged Bank"}) == "CN=a\\, O=Forged Bank"
    bidi = x509.Name.build({"common_name": "invoice\u202egpj.exe\x00"})
    assert name_text(bidi) == "CN=invoice\\E2\\80\\AEgpj.exe\\00"
    assert name_text(x509.Name.build({"common_name": "张三"})) == "CN=张三"  # ordinary text unchanged


def test_multi_valued_rdn_and_non_text_values() -> None:
    two = der_tlv(0x31, der_tlv(0x30, CN + der_tlv(0x0C, b"a")) + der_tlv(0x30, CN + der_tlv(0x0C, b"b")))
    value = core.ObjectIdentifier("1.2.3.4").dump() + der_tlv(0x04, b"\x01\x02")
    name = x509.Name.load(der_tlv(0x30, two + der_tlv(0x31, der_tlv(0x30, value))))
    assert name_text(name) == "1.2.3.4=#04020102, CN=a+CN=b"


def test_private_use_characters_in_names_do_not_break_chains() -> None:
    """LDAP stringprep (asn1crypto's name comparison) refuses private-use characters, which rare Chinese
    characters use: is_self_issued and verify_chain raised ValueError."""
    key = SM2PrivateKey.generate()
    root = build_certificate(
        subject={"common_name": "根\ue000证书"},
        public_key=key.public_key,
        issuer_key=key,
        not_after=NOW + timedelta(days=2),
        ca=True,
        key_usage=CA_KEY_USAGE,
    )
    leaf_key = SM2PrivateKey.generate()
    leaf = build_certificate(
        subject={"common_name": "用户\ue001"},
        public_key=leaf_key.public_key,
        issuer=root,
        issuer_key=key,
        not_after=NOW + timedelta(days=1),
    )
    assert root.is_self_issued and not leaf.is_self_issued
    assert verify_chain(leaf, [root]) == [leaf, root]


def test_year_zero_and_negative_serial_load_with_anomalies(sm2_key: SM2PrivateKey) -> None:
    """GeneralizedTime allows 0000, which datetime cannot hold: comparisons raised TypeError."""
    template = build_certificate(
        subject={"common_name": "odd"},
        public_key=sm2_key.public_key,
        issuer_key=sm2_key,
        not_after=NOW + timedelta(days=1),
    )
    tbs = template.asn1["tbs_certificate"]
    validity = der_tlv(0x30, der_tlv(0x18, b"00000101000000Z") + der_tlv(0x18, b"99991231235959Z"))
    tbs_der = der_tlv(
        0x30,
        tbs["version"].dump()
        + core.Integer(-42).dump()
        + b"".join(tbs[n].dump() for n in ("signature", "issuer"))
        + validity
        + b"".join(tbs[n].dump() for n in ("subject", "subject_public_key_info"))
        + tbs["extensions"].untag().dump(),
    )
    sig = sign_tbs(tbs_der, sm2_key, b"1234567812345678")
    der = der_tlv(0x30, tbs_der + template.asn1["signature_algorithm"].dump() + der_tlv(0x03, b"\x00" + sig))
    cert = Certificate.from_der(der)
    assert cert.not_before == datetime(1, 1, 1, tzinfo=timezone.utc) and cert.serial_number == -42
    cert.check_validity()
    assert cert.days_left() > 2_000_000
    assert any("negative" in text for text in cert.anomalies)
    assert any("year 0000" in text for text in cert.anomalies)


def test_csr_with_invalid_utf8_cn_is_an_encoding_error(sm2_key: SM2PrivateKey) -> None:
    from asn1crypto import csr as asn1_csr
    from asn1crypto import keys

    info = asn1_csr.CertificationRequestInfo(
        {
            "version": "v1",
            "subject": x509.Name.load(_name(CN + der_tlv(0x0C, b"\xe5\xbc\xa0\xff"))),
            "subject_pk_info": keys.PublicKeyInfo.load(sm2_key.public_key.to_der()),
            "attributes": [],
        }
    )
    signature = sm2_key.sign(info.dump())
    der = der_tlv(0x30, info.dump() + bytes.fromhex("300a06082a811ccf55018375") + der_tlv(0x03, b"\x00" + signature))
    with pytest.raises(EncodingError, match="CN attribute is not valid utf-8"):
        CertificationRequest.load(der)


def test_sizes_above_the_limits_are_refused_before_parsing() -> None:
    big = der_tlv(0x30, bytes(asn1.MAX_DER_SIZE))
    for load in (Certificate.from_der, CertificationRequest.from_der, SM2PrivateKey.from_der, SM2PublicKey.from_der):
        with pytest.raises(EncodingError, match="more than the 256 KB accepted"):
            load(big)
    with pytest.raises(EncodingError, match=r"more than the 8\.0 MB accepted"):
        CRL.from_der(der_tlv(0x30, bytes(asn1.MAX_CRL_SIZE)))
    with pytest.raises(EncodingError, match=r"not a DER X\.509 CRL"):  # a trusted caller may lift the limit
        CRL.from_der(der_tlv(0x30, bytes(asn1.MAX_CRL_SIZE)), max_size=16 << 20)
    with pytest.raises(EncodingError, match="larger than any object"):
        Certificate.load(b"-----BEGIN CERTIFICATE-----\n" + b"A" * (1 << 20) + b"\n-----END CERTIFICATE-----\n")
    with pytest.raises(EncodingError, match="more than the 256 KB"):
        EnvelopedKey.from_der(big)


def test_malformed_crl_signature_is_an_encoding_error() -> None:
    crl = CRL.from_der(seed("crl-gm.der"))
    tbs = crl.asn1["tbs_cert_list"].dump()
    bad = der_tlv(0x30, tbs + bytes.fromhex("300a06082a811ccf55018375") + der_tlv(0x03, b"\x00junk"))
    with pytest.raises(EncodingError, match="CRL signature is malformed"):
        CRL.from_der(bad)


def test_certificate_signed_with_an_empty_signer_id_says_so() -> None:
    pki = make_pki()
    odd = build_certificate(
        subject={"common_name": "empty id"},
        public_key=pki.leaf_key.public_key,
        issuer=pki.ca,
        issuer_key=pki.ca_key,
        not_after=NOW + timedelta(days=1),
        signer_id=b"",
    )
    with pytest.raises(CertificateError, match=r"empty SM2 signer ID.*-sigopt distid:1234567812345678") as info:
        odd.verify_signature(pki.ca.public_key)
    assert info.value.reason == "signature"


# -- PEM and detection -----------------------------------------------------------------------------


def test_pem_decoding() -> None:
    der = seed("cert-gm-leaf.der")
    text = armor("CERTIFICATE", der)
    assert decode(text) == ("CERTIFICATE", der)
    assert decode(b"Certificate:\n  Data: ...\n" + text.replace(b"\n", b"\r\n")) == ("CERTIFICATE", der)
    with_headers = text.replace(b"-----\n", b"-----\nComment: x\n\n", 1)
    assert decode(with_headers)[1] == der
    assert unarmor(der, ("CERTIFICATE",)) == der and not is_pem(der)
    encrypted = b"-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n"
    for bad, message in [
        (encrypted + b"-----END EC PRIVATE KEY-----\n", "encrypted with a password"),
        (text.replace(b"-----END CERTIFICATE-----", b""), "no matching -----END CERTIFICATE-----"),
        (text.replace(b"M", b"*", 1), "base64 text is damaged"),
        (b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", "empty"),
    ]:
        with pytest.raises(EncodingError, match=message):
            decode(bad)
    with pytest.raises(EncodingError, match="expected PEM PUBLIC KEY, found CERTIFICATE"):
        SM2PublicKey.load(text)


def test_detect_tells_every_kind_from_der_and_pem() -> None:
    expected = {
        "cert-gm-leaf.der": detect.Kind.CERTIFICATE,
        "cert-openssl-root.der": detect.Kind.CERTIFICATE,
        "csr-gm.der": detect.Kind.CSR,
        "csr-openssl.der": detect.Kind.CSR,
        "crl-gm.der": detect.Kind.CRL,
        "crl-openssl.der": detect.Kind.CRL,
        "key-pkcs8.der": detect.Kind.PRIVATE_KEY,
        "key-sec1.der": detect.Kind.PRIVATE_KEY,
        "key-spki.der": detect.Kind.PUBLIC_KEY,
    }
    for name, kind in expected.items():
        assert detect.detect(seed(name)) is kind, name
        assert detect.detect(armor("X509 CRL" if kind is detect.Kind.CRL else "CERTIFICATE", seed(name))) in (
            detect.Kind.CRL,
            detect.Kind.CERTIFICATE,
        )
    assert isinstance(detect.load(seed("csr-openssl.der")), CertificationRequest)
    for junk in (b"", b"\x30\x00", b"plain text", seed("sig.der"), seed("envelope.der")):
        with pytest.raises(EncodingError, match="not a certificate, CSR, CRL or SM2 key"):
            detect.detect(junk)
    with pytest.raises(EncodingError, match="PEM PKCS7 is not"):
        detect.detect(armor("PKCS7", b"\x30\x00"))


# Found by mutating CSRs at the service: the request info is 0x80 bytes long, so its length octets are
# 81 80, which asn1crypto's dump() takes for an indefinite length and re-encodes from the parsed values;
# the subject's attribute type is the incomplete OID 06 01 80, which cannot be re-encoded (HTTP 500).
CSR_WITH_LENGTH_0X80_AND_CUT_OID = bytes.fromhex(
    "3081da308180020100301e311c301a0601800c1569676e6f72656420627920746865207365727665723059301306072a86"
    "48ce3d020106082a811ccf5501822d034200048431b6331bc5dfb30bbd13b7af2b1e7dafa3c990c57294c2581fc64855a8"
    "1368ca07f6881ab848bcf2ffa51a928c4a0495ff472b163da26b30ea84af17cdf758a000300a06082a811ccf5501837503"
    "490030460221009d73fe21949c0d6ca738828d53112f9e1e4439194de545c4469d44529dcb3e86022100cc4ff53b32f462"
    "79ee353fff8f5fd7132aab27d988baa2eb93ca89f899a1cfeb"
)


def test_incomplete_attribute_oid_is_an_encoding_error() -> None:
    with pytest.raises(EncodingError, match="not a complete object identifier"):
        CertificationRequest.load(CSR_WITH_LENGTH_0X80_AND_CUT_OID)


def test_signatures_are_checked_over_the_bytes_as_signed(sm2_key: SM2PrivateKey) -> None:
    """A request whose info is 0x80 bytes long, with one length in BER form (81 05 instead of 05): the
    signature covers those bytes. Checking it over asn1crypto's re-encoding (DER) failed."""
    from asn1crypto import keys

    spki = keys.PublicKeyInfo.load(sm2_key.public_key.to_der()).dump()
    for cn_length in range(1, 60):
        cn = b"x" * cn_length
        name = _name(CN + b"\x0c\x81" + bytes([len(cn)]) + cn)
        body = b"\x02\x01\x00" + name + spki + b"\xa0\x00"
        if len(body) == 0x80:
            break
    info = der_tlv(0x30, body)
    assert info[:3] == b"\x30\x81\x80"
    der = der_tlv(0x30, info + bytes.fromhex("300a06082a811ccf55018375") + der_tlv(0x03, b"\x00" + sm2_key.sign(info)))
    request = CertificationRequest.load(der)
    request.verify()
    assert request.public_key == sm2_key.public_key


def _edit_and_resign(der: bytes, key: SM2PrivateKey, edit: Callable[[List[Node]], None]) -> bytes:
    """``der`` with its tbsCertificate changed by ``edit`` (a TLV tree, lengths fixed on encoding), re-signed."""
    tree = parse(der)
    tbs = tree[0].children[0]  # type: ignore[index]
    edit(tbs.children)  # type: ignore[arg-type]
    signed = tbs.encode()
    algorithm = tree[0].children[1].encode()  # type: ignore[index]
    return der_tlv(0x30, signed + algorithm + der_tlv(0x03, b"\x00" + key.sign(signed)))


def test_key_usage_bits_without_a_name_are_shown(sm2_key: SM2PrivateKey) -> None:
    """Bit 10 of keyUsage has no RFC 5280 name: asn1crypto gives the number, and sorting the usages for
    `crypto inspect` raised TypeError (a traceback, found by the long fuzz run)."""
    template = build_certificate(
        subject={"common_name": "ku"}, public_key=sm2_key.public_key, issuer_key=sm2_key, not_after=NOW + timedelta(1)
    )

    def set_bit_10(fields: List[Node]) -> None:
        extensions = fields[-1].children[0].children  # type: ignore[index]
        for extension in extensions:  # type: ignore[union-attr]
            if extension.children[0].content == b"\x55\x1d\x0f":  # type: ignore[index]
                extension.children[-1] = Node(b"\x04", b"\x03\x03\x05\x80\x20")  # type: ignore[index]

    cert = Certificate.from_der(_edit_and_resign(template.to_der(), sm2_key, set_bit_10))
    cert.verify_signature(sm2_key.public_key)
    assert cert.key_usage == frozenset({"digital_signature", "bit_10"})


# Found by a 20,000-case fuzz run: a request whose signature algorithm is not SM2-with-SM3 and whose
# signature BIT STRING claims 255 unused bits. The signature value was read only for SM2 at load, and
# then outside the error handling by verify() (ValueError).
CSR_WITH_BAD_BIT_STRING = bytes.fromhex(
    "30820185308201700201003081ec3181af3081ac06035504061381a4434e4141414141414141414141414141414141414141"
    "4141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141"
    "4141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141"
    "4141414141414141414141414141414141414141414141414141414141414141414141414141414141413127302506035504"
    "0a0c1ee69f90e69f90e59586e6a087e4bba3e79086e69c89e99990e585ace58fb8310f300d06035504030c06e5bca0e4b889"
    "3059301306072a8648ce3d020106082a811ccf5501822d034200041c205eac2d8f68d5a5689ad172bf92e2e1145bb7083341"
    "27d500d86d0bb0a7bb2a31c2c5c2708bf3393522e9b873af268b9919ac4366ea2503bf45fd0a3f7ca6a021301f06092a8648"
    "86f70d01090e31123010300e06ff551d0f0101ff040403020780300a06082a811cce550183750303fffefd"
)


def test_signature_bit_string_is_checked_whatever_the_algorithm() -> None:
    with pytest.raises(EncodingError, match="255 unused bits"):
        CertificationRequest.load(CSR_WITH_BAD_BIT_STRING).verify()
