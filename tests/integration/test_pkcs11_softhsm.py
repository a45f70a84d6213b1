"""The PKCS#11 driver end to end on a real SoftHSM2 token (generic EC path; SM2 reported absent)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest
from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from drivers.base import EnvelopedKeySession, KeySession
from drivers.errors import (
    AlreadyExists,
    DriverUnavailable,
    KeyMismatch,
    NotLoggedIn,
    NotSupported,
    PinIncorrect,
    PinTooWeak,
)
from drivers.model import Capability, DeviceKind, KeyAlgorithm, KeyUsage
from drivers.pkcs11 import Pkcs11Backend
from drivers.pkcs11.driver import Pkcs11Device, load_module
from gm.x509 import Certificate
from tests.softhsm import SO_PIN, USER_PIN, SoftHsm

pytestmark = pytest.mark.integration


@pytest.fixture()
def device(softhsm: SoftHsm) -> Iterator[Pkcs11Device]:
    label = softhsm.new_token()
    devices = [d for d in Pkcs11Backend([softhsm.module]).devices() if d.info.label == label]
    assert len(devices) == 1
    yield devices[0]  # type: ignore[misc]


def cert_for(public_der: bytes, cn: str = "EC test") -> bytes:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(timezone.utc)
    cert = (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "test CA")]))
        .public_key(serialization.load_der_public_key(public_der))  # type: ignore[arg-type]
        .serial_number(cx509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_discovery_and_capabilities(device: Pkcs11Device) -> None:
    info = device.info
    assert info.kind is DeviceKind.HARD and info.manufacturer.startswith("SoftHSM")
    assert "profile softhsm2" in info.detail
    assert info.supports(Capability.EC_KEYGEN) and info.supports(Capability.EC_SIGN)
    for absent in (Capability.SM2_KEYGEN, Capability.SM2_SIGN, Capability.SM2_IMPORT_ENVELOPED, Capability.SM2_DECRYPT):
        assert not info.supports(absent)
    assert (info.pin_policy.min_length, info.pin_policy.max_length) == (4, 255)
    assert device.sm2 is None  # no SM2 mechanisms in SoftHSM2's module
    with device.open() as session:  # keys and certificates, but no import of escrowed keys over PKCS#11
        assert isinstance(session, KeySession) and not isinstance(session, EnvelopedKeySession)


def test_sm2_is_refused_up_front(device: Pkcs11Device) -> None:
    with device.open() as session:
        session.login(USER_PIN)
        session.create_container("c")
        with pytest.raises(NotSupported, match="SM2"):
            session.generate_key("c", KeyAlgorithm.SM2)
        [info] = session.containers()
        assert not info.has_sign_key


def test_ec_key_sign_and_certificate_objects(device: Pkcs11Device) -> None:
    with device.open() as session:
        session.login(USER_PIN)
        session.create_container("张三")
        with pytest.raises(AlreadyExists):
            session.create_container("张三")
        spki = session.generate_key("张三", KeyAlgorithm.EC_P256)
        public = serialization.load_der_public_key(spki)
        assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"
        assert session.public_key_der("张三") == spki

        signature = session.sign("张三", b"challenge")
        public.verify(signature, b"challenge", ec.ECDSA(hashes.SHA256()))
        with pytest.raises(InvalidSignature):
            public.verify(signature, b"challengE", ec.ECDSA(hashes.SHA256()))
        digest = hashes.Hash(hashes.SHA256())
        digest.update(b"prehashed")
        public.verify(session.sign_digest("张三", digest.finalize()), b"prehashed", ec.ECDSA(hashes.SHA256()))

        der = cert_for(spki)
        other = ec.generate_private_key(ec.SECP256R1()).public_key()
        other_spki = other.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        with pytest.raises(KeyMismatch, match="not for the sign key"):
            session.write_certificate("张三", KeyUsage.SIGN, cert_for(other_spki))
        session.write_certificate("张三", KeyUsage.SIGN, der)
        assert session.read_certificate("张三", KeyUsage.SIGN) == Certificate.from_der(der)
        [info] = session.containers()
        assert (info.name, info.has_sign_key, info.has_sign_certificate, info.has_encrypt_key) == (
            "张三",
            True,
            True,
            False,
        )

    with device.open() as public_session:  # certificates and public keys need no login
        assert public_session.read_certificate("张三", KeyUsage.SIGN) is not None
        with pytest.raises(NotLoggedIn):
            public_session.sign("张三", b"x")

    with device.open() as session:
        session.login(USER_PIN)
        session.delete_certificate("张三", KeyUsage.SIGN)
        assert session.read_certificate("张三", KeyUsage.SIGN) is None
        session.delete_container("张三")
        assert session.containers() == []


def test_regenerating_replaces_the_key_and_drops_the_certificate(device: Pkcs11Device) -> None:
    with device.open() as session:
        session.login(USER_PIN)
        first = session.generate_key("c", KeyAlgorithm.EC_P256)
        session.write_certificate("c", KeyUsage.SIGN, cert_for(first))
        second = session.generate_key("c", KeyAlgorithm.EC_P256)
        assert first != second and session.public_key_der("c") == second
        assert session.read_certificate("c", KeyUsage.SIGN) is None
        assert len([c for c in session.containers() if c.name == "c"]) == 1


def test_change_pin_and_wrong_pin(device: Pkcs11Device) -> None:
    with device.open() as session:
        with pytest.raises(PinIncorrect) as info:
            session.login("000000")
        assert info.value.raw_code == "CKR_PIN_INCORRECT" and not session.logged_in
        assert session.pin_info().low  # SoftHSM2 only raises USER_PIN_COUNT_LOW, it never locks
        with pytest.raises(PinTooWeak):
            session.change_pin(USER_PIN, "654321")
        session.change_pin(USER_PIN, "739146")
        with pytest.raises(PinIncorrect):
            session.login(USER_PIN)
        session.login("739146")
        assert session.logged_in


def test_so_unblock_with_init_pin_and_admin_rotation(device: Pkcs11Device) -> None:
    with device.open() as session:
        with pytest.raises(PinIncorrect) as info:
            session.unblock_pin("00000000", "581937")
        assert info.value.admin
        session.unblock_pin(SO_PIN, "581937")
        session.login("581937")
        new_so = session.rotate_admin_credential(SO_PIN)
        assert len(new_so) == 16
        with pytest.raises(PinIncorrect):
            session.unblock_pin(SO_PIN, "260491")
        session.unblock_pin(new_so, "260491")
        session.login("260491")


def test_failed_login_closes_the_leaked_session_and_views_share_login_state(
    device: Pkcs11Device, softhsm: SoftHsm
) -> None:
    module = load_module(softhsm.module)
    with device.open() as first, device.open() as second:
        first.login(USER_PIN)
        assert second.logged_in  # PKCS#11 login state belongs to the token, not to a session
        before = module.generation
        for _ in range(3):
            with pytest.raises(PinIncorrect):
                second.login("999999")
        assert module.generation == before + 3  # the session python-pkcs11 leaked was closed each time
        assert not first.logged_in
        with pytest.raises(NotLoggedIn):
            first.sign("c", b"x")  # says what to do, does not crash on a dead handle
        first.login(USER_PIN)
        first.generate_key("c", KeyAlgorithm.EC_P256)
        assert second.public_key_der("c") == first.public_key_der("c")


def test_pin_length_checked_before_the_token(device: Pkcs11Device) -> None:
    from drivers.errors import PinLengthInvalid

    with device.open() as session, pytest.raises(PinLengthInvalid):
        session.login("123")


def test_parallel_signing_from_threads(device: Pkcs11Device) -> None:
    with device.open() as session:
        session.login(USER_PIN)
        spki = session.generate_key("c", KeyAlgorithm.EC_P256)
        public = serialization.load_der_public_key(spki)
        errors: list = []

        def worker(n: int) -> None:
            try:
                for i in range(5):
                    msg = f"{n}/{i}".encode()
                    public.verify(session.sign("c", msg), msg, ec.ECDSA(hashes.SHA256()))  # type: ignore[union-attr]
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []


def test_missing_module_is_reported_not_fatal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    backend = Pkcs11Backend([str(tmp_path / "libnothing.so")])
    assert backend.devices() == [] or all(d.info.backend == "pkcs11" for d in backend.devices())
    assert any("libnothing.so" in p for p in backend.problems)
    status = backend.status()
    assert "libnothing.so" in status.detail
    with pytest.raises(DriverUnavailable, match="not found"):
        load_module(str(tmp_path / "libnothing.so"))
