"""The soft keystore driver: PIN rules and counters, unblock, keys, certificates, and its refusals."""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

from drivers.errors import (
    KeyMismatch,
    KeystoreCorrupted,
    NotLoggedIn,
    NotSupported,
    PinIncorrect,
    PinLengthInvalid,
    PinLocked,
    PinMismatch,
)
from drivers.model import Capability, DeviceKind, KeyAlgorithm, KeyUsage
from drivers.soft import SoftBackend, SoftDevice
from drivers.soft.driver import default_keystore_dir
from drivers.soft.keystore import DEFAULT_KDF
from gm.envelope import envelope_key
from gm.sm2 import SM2PrivateKey, SM2PublicKey
from gm.x509 import build_certificate
from tests.conftest import FAST_KDF
from tests.pki import make_pki

PIN = "480362"
NEW_PIN = "739146"


@pytest.fixture()
def backend() -> SoftBackend:
    return SoftBackend(kdf=FAST_KDF)


@pytest.fixture()
def device(backend: SoftBackend) -> SoftDevice:
    dev, _admin = backend.create_device("软证书 张三", PIN, PIN)
    return dev


def test_created_device_is_discovered(backend: SoftBackend, device: SoftDevice) -> None:
    assert backend.directory == default_keystore_dir()
    [found] = backend.devices()
    assert found.info.device_id == device.info.device_id
    assert found.info.kind is DeviceKind.SOFT and found.info.label == "软证书 张三"
    assert found.info.supports(Capability.SM2_IMPORT_ENVELOPED)
    assert (found.info.pin_policy.min_length, found.info.pin_policy.max_length) == (6, 20)
    with found.open() as session:
        info = session.pin_info()
    assert (info.max_retries, info.remaining, info.locked) == (10, 10, False)


def test_default_kdf_is_the_tuned_scrypt() -> None:
    assert DEFAULT_KDF == {"name": "scrypt", "n": 65536, "r": 8, "p": 1}
    backend = SoftBackend()
    dev, _ = backend.create_device("default", PIN)
    state = json.loads(Path(dev.info.detail).read_text())
    assert state["pin"]["kdf"]["n"] == 65536 and len(state["pin"]["kdf"]["salt"]) >= 22


def test_new_pin_rules_are_checked_before_anything_is_written(backend: SoftBackend) -> None:
    for pin, confirmation in (("12345", "12345"), ("1" * 21, "1" * 21)):
        with pytest.raises(PinLengthInvalid):
            backend.create_device("x", pin, confirmation)
    with pytest.raises(PinMismatch):
        backend.create_device("x", PIN, NEW_PIN)
    assert backend.devices() == []


def test_wrong_pin_counts_down_and_right_pin_resets(device: SoftDevice) -> None:
    with device.open() as session:
        for expected in (9, 8):
            with pytest.raises(PinIncorrect) as info:
                session.login("000000")
            assert info.value.retries_left == expected and info.value.raw_code == "wrapped_key_mismatch"
        assert session.pin_info().remaining == 8
        session.login(PIN)
        assert session.logged_in and session.pin_info().remaining == 10


def test_bad_length_pin_spends_no_try(device: SoftDevice) -> None:
    with device.open() as session:
        with pytest.raises(PinLengthInvalid):
            session.login("123")
        assert session.pin_info().remaining == 10


def test_ten_wrong_pins_lock_and_admin_secret_unblocks(backend: SoftBackend) -> None:
    dev, admin = backend.create_device("lock me", PIN)
    with dev.open() as session:
        for _ in range(9):
            with pytest.raises(PinIncorrect):
                session.login("999999")
        with pytest.raises(PinLocked):
            session.login("999999")
        assert session.pin_info().locked
        with pytest.raises(PinLocked):
            session.login(PIN)  # even the right PIN, once locked
        with pytest.raises(PinIncorrect) as info:
            session.unblock_pin("00" * 32, NEW_PIN)
        assert info.value.admin and info.value.retries_left == 9
        session.unblock_pin(admin, NEW_PIN)
        assert session.pin_info().remaining == 10 and session.pin_info(admin=True).remaining == 10
        session.login(NEW_PIN)
        with pytest.raises(PinIncorrect):
            session.login(PIN)


def test_change_pin(device: SoftDevice) -> None:
    with device.open() as session:
        with pytest.raises(PinIncorrect):
            session.change_pin("000000", "k3v9x2")
        with pytest.raises(PinLengthInvalid):
            session.change_pin(PIN, "abc")
        session.change_pin(PIN, "k3v9x2")
        session.login("k3v9x2")
        with pytest.raises(PinIncorrect):
            session.login(PIN)


def test_operations_need_login(device: SoftDevice) -> None:
    with device.open() as session:
        session.create_container("c1")
        with pytest.raises(NotLoggedIn):
            session.generate_key("c1")
        with pytest.raises(NotLoggedIn):
            session.rotate_admin_credential()


def test_dual_certificate_container(device: SoftDevice) -> None:
    pki = make_pki()
    with device.open() as session:
        session.login(PIN)
        session.create_container("张三")
        public = SM2PublicKey.from_der(session.generate_key("张三"))
        assert session.public_key("张三") == public
        signature = session.sign("张三", b"challenge")
        public.verify(signature, b"challenge")
        e = public.message_digest(b"token style")
        public.verify(session.sign_digest("张三", e), b"token style")

        encryption_key = SM2PrivateKey.generate()
        session.import_enveloped_key("张三", envelope_key(encryption_key, public))
        assert session.public_key("张三", KeyUsage.ENCRYPT) == encryption_key.public_key
        assert session.decrypt("张三", encryption_key.public_key.encrypt(b"for me")) == b"for me"

        now = datetime.now(timezone.utc)
        sign_cert = build_certificate(
            subject={"common_name": "张三"},
            public_key=public,
            issuer=pki.ca,
            issuer_key=pki.ca_key,
            not_after=now + timedelta(days=30),
        )
        enc_cert = build_certificate(
            subject={"common_name": "张三"},
            public_key=encryption_key.public_key,
            issuer=pki.ca,
            issuer_key=pki.ca_key,
            not_after=now + timedelta(days=30),
        )
        with pytest.raises(KeyMismatch, match="not for the encrypt key"):
            session.write_certificate("张三", KeyUsage.ENCRYPT, sign_cert)
        session.write_certificate("张三", KeyUsage.SIGN, sign_cert)
        session.write_certificate("张三", KeyUsage.ENCRYPT, enc_cert.to_der())
        [info] = session.containers()
        assert info.name == "张三" and info.has_sign_certificate and info.has_encrypt_certificate
        assert session.read_certificate("张三", KeyUsage.SIGN) == sign_cert

    with device.open() as fresh:  # certificates are readable without login
        assert fresh.read_certificate("张三", KeyUsage.ENCRYPT) == enc_cert
        with pytest.raises(NotLoggedIn):
            fresh.sign("张三", b"x")


def test_regenerating_the_signing_key_drops_its_certificate(device: SoftDevice) -> None:
    with device.open() as session:
        session.login(PIN)
        session.create_container("c")
        public = SM2PublicKey.from_der(session.generate_key("c"))
        pki = make_pki()
        cert = build_certificate(
            subject={"common_name": "c"},
            public_key=public,
            issuer=pki.ca,
            issuer_key=pki.ca_key,
            not_after=datetime.now(timezone.utc) + timedelta(days=1),
        )
        session.write_certificate("c", KeyUsage.SIGN, cert)
        session.generate_key("c")
        assert session.read_certificate("c", KeyUsage.SIGN) is None


def test_only_sm2_keys(device: SoftDevice) -> None:
    with device.open() as session:
        session.login(PIN)
        session.create_container("c")
        with pytest.raises(NotSupported):
            session.generate_key("c", KeyAlgorithm.EC_P256)


def test_rotate_admin_credential(backend: SoftBackend) -> None:
    dev, first = backend.create_device("rotate", PIN)
    with dev.open() as session:
        session.login(PIN)
        second = session.rotate_admin_credential()
        assert second != first and len(bytes.fromhex(second)) == 32
        with pytest.raises(PinIncorrect):
            session.unblock_pin(first, NEW_PIN)
        session.unblock_pin(second, NEW_PIN)
        session.login(NEW_PIN)


def test_copied_keystore_is_useless_without_the_device_secret(
    backend: SoftBackend, device: SoftDevice, tmp_path: Path
) -> None:
    path = Path(device.info.detail)
    before = path.read_bytes()
    keyring.delete_password("CertAssist soft keystore", device.info.serial)  # as on another computer
    with device.open() as session:
        for attempt in (lambda: session.login(PIN), session.pin_info, session.containers):
            with pytest.raises(KeystoreCorrupted, match="another computer"):
                attempt()
    assert path.read_bytes() == before  # nothing written, so nothing to lose if the entry comes back


def test_without_os_keyring_the_secret_falls_back_to_a_private_file(tmp_path: Path) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    backend = SoftBackend(kdf=FAST_KDF)
    dev, _ = backend.create_device("no keyring", PIN)
    assert "no OS keyring" in backend.status().detail
    assert oct(backend.secrets.fallback_file.stat().st_mode & 0o777) == "0o600"
    with dev.open() as session:
        session.login(PIN)


def test_corrupted_files_are_reported_not_overwritten(backend: SoftBackend, device: SoftDevice) -> None:
    path = Path(device.info.detail)
    path.write_text("{ not json")
    [broken] = backend.devices()
    assert "unreadable" in broken.info.model
    with pytest.raises(KeystoreCorrupted, match="cannot be opened"):
        broken.open()
    assert path.read_text() == "{ not json"


def test_try_is_spent_before_the_check(device: SoftDevice, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process killed while checking a PIN has already paid for the guess."""
    from drivers.soft import keystore as keystore_module

    def killed(*_args: object, **_kwargs: object) -> bytes:
        raise SystemExit("killed during the check")

    with monkeypatch.context() as patched:
        patched.setattr(keystore_module.sm4, "gcm_open", killed)
        with device.open() as session, pytest.raises(SystemExit):
            session.login("000000")
    with device.open() as session:
        assert session.pin_info().remaining == 9


def test_parallel_use_from_threads(device: SoftDevice) -> None:
    with device.open() as session:
        session.login(PIN)
        session.create_container("c")
        public = SM2PublicKey.from_der(session.generate_key("c"))
        errors: list = []

        def worker(n: int) -> None:
            try:
                for i in range(5):
                    msg = f"{n}-{i}".encode()
                    public.verify(session.sign("c", msg), msg)
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []


def test_no_secret_reaches_logs_or_reprs(backend: SoftBackend, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    dev, admin = backend.create_device("logs", "s3cret-pin")
    with dev.open() as session:
        with pytest.raises(PinIncorrect) as info:
            session.login("wrong-pin")
        session.login("s3cret-pin")
        text = caplog.text + repr(dev) + repr(session) + str(info.value) + repr(info.value)
    for secret in ("s3cret-pin", "wrong-pin", admin):
        assert secret not in text


def test_destroy_removes_file_and_secret(backend: SoftBackend, device: SoftDevice) -> None:
    device.destroy()
    assert backend.devices() == []
    assert keyring.get_password("CertAssist soft keystore", device.info.serial) is None
