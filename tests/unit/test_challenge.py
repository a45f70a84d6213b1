"""The labelled login challenge: its exact bytes, origin rules, nonce checks, and signatures bound to it."""

from __future__ import annotations

import base64
import subprocess

import pytest

from gm.challenge import (
    LABEL,
    NONCE_SIZE,
    ChallengePurpose,
    InvalidNonce,
    InvalidOrigin,
    LoginChallenge,
    decode_nonce,
    service_origin,
)
from gm.errors import EncodingError, InvalidSignature
from gm.sm2 import SM2PrivateKey

NONCE = bytes(range(NONCE_SIZE))


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://ca.example.cn", "https://ca.example.cn"),
        ("https://CA.Example.CN:443/api/v1?x=1", "https://ca.example.cn"),
        ("https://ca.example.cn:8443/", "https://ca.example.cn:8443"),
        ("http://127.0.0.1:8470", "http://127.0.0.1:8470"),
        ("http://localhost", "http://localhost"),
        ("http://[::1]:8470", "http://[::1]:8470"),
        ("https://[2001:db8::1]", "https://[2001:db8::1]"),
        ("https://证书.中国", "https://xn--1jqs90m.xn--fiqs8s"),
    ],
)
def test_service_origin_normalises(url: str, origin: str) -> None:
    assert service_origin(url) == origin


@pytest.mark.parametrize(
    "url",
    [
        "http://ca.example.cn",  # plain http off loopback
        "http://10.0.0.5:8470",
        "http://127.0.0.1.evil.example",
        "ftp://ca.example.cn",
        "https://user:pw@ca.example.cn",
        "https://",
        "ca.example.cn",
        "https://ca.example.cn:99999",
        "https://ca example.cn",
        "",
    ],
)
def test_service_origin_refuses(url: str) -> None:
    with pytest.raises(InvalidOrigin):
        service_origin(url)


def test_http_loopback_can_be_refused_too() -> None:
    with pytest.raises(InvalidOrigin):
        service_origin("http://127.0.0.1:8470", allow_http_loopback=False)


def test_nonce_must_be_exactly_32_bytes_of_base64() -> None:
    assert decode_nonce(base64.b64encode(NONCE).decode()) == NONCE
    for bad in (
        base64.b64encode(NONCE[:-1]).decode(),
        base64.b64encode(NONCE + b"x").decode(),
        "我同意将商标 12345678 转让给他人",  # a sentence a fake service would like signed
        base64.b64encode(NONCE).decode() + "!",
        None,
        32,
    ):
        with pytest.raises(InvalidNonce):
            decode_nonce(bad)


def test_to_be_signed_is_the_documented_der_structure(openssl_bin: str) -> None:
    challenge = LoginChallenge.for_service(
        ChallengePurpose.TRAY_LOGIN, "https://ca.example.cn/", base64.b64encode(NONCE).decode()
    )
    der = challenge.to_be_signed()
    # Hand-built DER: SEQUENCE { UTF8String label, UTF8String purpose, IA5String origin, OCTET STRING nonce }
    fields = (
        b"\x0c" + bytes([len(LABEL)]) + LABEL.encode()
        + b"\x0c\x0atray-login"
        + b"\x16\x15https://ca.example.cn"
        + b"\x04\x20" + NONCE
    )  # fmt: skip
    assert der == b"\x30" + bytes([len(fields)]) + fields
    parsed = subprocess.run([openssl_bin, "asn1parse", "-inform", "DER"], input=der, capture_output=True, check=True)
    assert b"UTF8STRING" in parsed.stdout and b"IA5STRING" in parsed.stdout
    assert LoginChallenge.parse(der) == challenge


def test_purpose_and_origin_change_the_bytes() -> None:
    base = LoginChallenge(ChallengePurpose.TRAY_LOGIN, "https://a.example", NONCE).to_be_signed()
    assert LoginChallenge(ChallengePurpose.WEB_LOGIN, "https://a.example", NONCE).to_be_signed() != base
    assert LoginChallenge(ChallengePurpose.TRAY_LOGIN, "https://b.example", NONCE).to_be_signed() != base


def test_signature_for_one_origin_fails_for_another(sm2_key: SM2PrivateKey) -> None:
    mine = LoginChallenge(ChallengePurpose.WEB_LOGIN, "https://ca.example.cn", NONCE)
    signature = sm2_key.sign(mine.to_be_signed())
    sm2_key.public_key.verify(signature, mine.to_be_signed())
    other = LoginChallenge(ChallengePurpose.WEB_LOGIN, "https://evil.example", NONCE)
    with pytest.raises(InvalidSignature):
        sm2_key.public_key.verify(signature, other.to_be_signed())


def test_constructor_refuses_unnormalised_or_wrong_values() -> None:
    with pytest.raises(InvalidOrigin):
        LoginChallenge(ChallengePurpose.TRAY_LOGIN, "https://CA.example.cn/", NONCE)
    with pytest.raises(InvalidNonce):
        LoginChallenge(ChallengePurpose.TRAY_LOGIN, "https://ca.example.cn", NONCE[:16])
    with pytest.raises(ValueError, match="ChallengePurpose"):
        LoginChallenge("tray-login", "https://ca.example.cn", NONCE)  # type: ignore[arg-type]


def test_parse_refuses_other_structures() -> None:
    good = LoginChallenge(ChallengePurpose.TRAY_LOGIN, "https://ca.example.cn", NONCE).to_be_signed()
    forged_label = good.replace(LABEL.encode(), LABEL.replace("v1", "v2").encode())
    for bad in (b"", b"\x30\x00", good[:-1], forged_label, b"hello"):
        with pytest.raises(EncodingError):
            LoginChallenge.parse(bad)
