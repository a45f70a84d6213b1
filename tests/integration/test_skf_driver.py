"""drivers/skf against the soft SKF library (tests/native/softskf): the real C interface, no mocks."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, List

import pytest

from drivers.errors import (
    AlreadyExists,
    DeviceRemoved,
    DriverUnavailable,
    NotFound,
    NotLoggedIn,
    NotSupported,
    PinIncorrect,
    PinLengthInvalid,
    PinLocked,
)
from drivers.model import Capability, KeyUsage
from drivers.profiles import ProfileSet
from drivers.skf import SkfBackend
from drivers.skf.driver import SkfDevice
from drivers.skf.events import DeviceEventKind, SkfDeviceEvent, SkfEventWatcher
from drivers.skf.library import load_library
from gm.envelope import envelope_key
from gm.sm2 import SM2PrivateKey, SM2PublicKey
from gm.x509 import build_certificate
from tests.pki import make_pki
from tests.softskf import ADMIN_PIN, ADMIN_TRIES, USER_PIN, USER_TRIES, SoftSkf

pytestmark = pytest.mark.integration
NEW_PIN = "24681357"


@pytest.fixture()
def backend(softskf: SoftSkf) -> SkfBackend:
    return SkfBackend([str(softskf.library)])


@pytest.fixture()
def device(backend: SkfBackend) -> SkfDevice:
    [device] = backend.devices()
    assert isinstance(device, SkfDevice)
    return device


def test_device_info_profile_and_capabilities(device: SkfDevice, softskf: SoftSkf) -> None:
    info = device.info
    assert (info.backend, info.kind.value, info.label, info.manufacturer) == (
        "skf",
        "hard",
        "SoftSKF",
        "CertAssist SoftSKF",
    )
    assert len(info.serial) == 16 and info.device_id == f"skf:{softskf.library}:{info.serial}"
    assert device.profile is not None and device.profile.id == "softskf"  # matched by DEVINFO.Manufacturer
    assert (info.pin_policy.min_length, info.pin_policy.max_length) == (6, 16)
    for capability in Capability:
        if capability not in (Capability.EC_KEYGEN, Capability.EC_SIGN):
            assert info.supports(capability), capability
    assert (device.skf.version, device.skf.firmware_version, device.skf.sm2) == ("1.0", "1.2", True)


def test_pins_count_down_lock_and_unblock(device: SkfDevice) -> None:
    with device.open() as session:
        assert session.application == "SOFTSKF"
        info = session.pin_info()
        assert (info.max_retries, info.remaining, info.locked) == (USER_TRIES, USER_TRIES, False)
        assert session.pin_is_default() and session.pin_is_default(admin=True)
        with pytest.raises(PinLengthInvalid):
            session.login("12345")  # refused before the key is asked: no try spent
        with pytest.raises(PinIncorrect) as wrong:
            session.login("87654321")
        assert wrong.value.retries_left == USER_TRIES - 1 and not session.logged_in
        session.login(USER_PIN)
        assert session.logged_in and session.pin_info().remaining == USER_TRIES
        for left in range(USER_TRIES - 1, 0, -1):
            with pytest.raises(PinIncorrect) as wrong:
                session.login("00000000")
            assert wrong.value.retries_left == left
        assert session.pin_info().low
        with pytest.raises(PinLocked):
            session.login("00000000")
        with pytest.raises(PinLocked):
            session.login(USER_PIN)
        assert session.pin_info().locked
        with pytest.raises(PinIncorrect) as admin_wrong:
            session.unblock_pin("notadmin1", NEW_PIN)
        assert admin_wrong.value.admin and admin_wrong.value.retries_left == ADMIN_TRIES - 1
        session.unblock_pin(ADMIN_PIN, NEW_PIN)
        session.login(NEW_PIN)
        assert session.pin_info().remaining == USER_TRIES and not session.pin_is_default()


def test_change_pin(device: SkfDevice) -> None:
    with device.open() as session:
        with pytest.raises(PinIncorrect):
            session.change_pin("00000000", NEW_PIN)
        with pytest.raises(PinLengthInvalid):
            session.change_pin(USER_PIN, "1" * 17)  # longer than the key's 16
        session.change_pin(USER_PIN, NEW_PIN)
    with device.open() as session:
        with pytest.raises(PinIncorrect):
            session.login(USER_PIN)
        session.login(NEW_PIN)


def test_admin_rotation_uses_the_vendor_default_once(device: SkfDevice) -> None:
    with device.open() as session:
        escrowed = session.rotate_admin_credential()  # the profile's documented default, admin1234
        assert len(escrowed) == 16 and escrowed != ADMIN_PIN
        assert not session.pin_is_default(admin=True)
        with pytest.raises(PinIncorrect) as again:
            session.rotate_admin_credential()  # the default is gone: one wrong try, never a loop
        assert again.value.admin and session.pin_info(admin=True).remaining == ADMIN_TRIES - 1
        rotated = session.rotate_admin_credential(escrowed)
        session.unblock_pin(rotated, NEW_PIN)
        session.login(NEW_PIN)


def test_keys_signatures_and_openssl(device: SkfDevice, tmp_path: Path, openssl_bin: str) -> None:
    with device.open() as session:
        with pytest.raises(NotLoggedIn):
            session.create_container("张三")
        session.login(USER_PIN)
        session.create_container("张三")
        with pytest.raises(AlreadyExists):
            session.create_container("张三")
        spki = session.generate_key("张三")
        assert session.container_type("张三") == 2
        [container] = session.containers()
        assert (container.name, container.has_sign_key, container.has_encrypt_key) == ("张三", True, False)
        public = SM2PublicKey.from_der(spki)
        assert session.public_key("张三") == public
        message = b"signed on the soft SKF key"
        signature = session.sign("张三", message)
        public.verify(signature, message)
        other_id = session.sign("张三", message, signer_id=b"alice@example.com")
        public.verify(other_id, message, signer_id=b"alice@example.com")
        digest = public.message_digest(message)
        public.verify_digest(session.sign_digest("张三", digest), digest)
        with pytest.raises(ValueError, match="32 bytes"):
            session.sign_digest("张三", digest[:20])
        with pytest.raises(NotFound):
            session.sign("nobody", message)
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig").write_bytes(signature)
    (tmp_path / "pub.pem").write_bytes(public.to_pem())
    result = subprocess.run(
        [openssl_bin, "dgst", "-sm3", "-verify", str(tmp_path / "pub.pem"), "-sigopt", "distid:1234567812345678",
         "-signature", str(tmp_path / "sig"), str(tmp_path / "msg")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0 and "Verified OK" in result.stdout, result.stderr


def test_enveloped_key_certificates_and_decryption(device: SkfDevice) -> None:
    pki = make_pki()
    encryption = SM2PrivateKey.generate()
    with device.open() as session:
        session.login(USER_PIN)
        session.create_container("c")
        sign_public = SM2PublicKey.from_der(session.generate_key("c"))
        session.import_enveloped_key("c", envelope_key(encryption, sign_public))
        assert session.public_key("c", KeyUsage.ENCRYPT) == encryption.public_key
        certificates = {
            usage: build_certificate(
                subject={"common_name": "持有人"}, public_key=key, issuer=pki.ca, issuer_key=pki.ca_key,
                not_after=pki.leaf.not_after,
            )
            for usage, key in ((KeyUsage.SIGN, sign_public), (KeyUsage.ENCRYPT, encryption.public_key))
        }  # fmt: skip
        with pytest.raises(NotFound):
            session.write_certificate("c", KeyUsage.SIGN, certificates[KeyUsage.ENCRYPT])  # not this key's
        for usage, cert in certificates.items():
            session.write_certificate("c", usage, cert)
        for usage, cert in certificates.items():
            assert session.read_certificate("c", usage) == cert
        [info] = session.containers()
        assert info.has_encrypt_key and info.has_sign_certificate and info.has_encrypt_certificate
        ciphertext = encryption.public_key.encrypt(b"for the encryption key")
        assert session.decrypt("c", ciphertext) == b"for the encryption key"
        with pytest.raises(NotSupported):
            session.delete_certificate("c", KeyUsage.SIGN)
        foreign = envelope_key(SM2PrivateKey.generate(), SM2PrivateKey.generate().public_key)
        with pytest.raises(Exception, match="SAR_INDATAERR"):
            session.import_enveloped_key("c", foreign)
        assert session.public_key("c", KeyUsage.ENCRYPT) == encryption.public_key  # nothing replaced
        session.delete_container("c")
        assert session.containers() == []
        assert len(session.random(32)) == 32


def test_pulling_the_key_out_mid_session(device: SkfDevice, softskf: SoftSkf) -> None:
    with device.open() as session:
        session.login(USER_PIN)
        session.create_container("c")
        softskf.remove()
        with pytest.raises(DeviceRemoved):
            session.generate_key("c")
        with pytest.raises(DeviceRemoved):
            session.containers()
    with pytest.raises(DeviceRemoved):
        device.open()


def test_gmt0006_vendors_get_their_algorithm_ids(
    softskf: SoftSkf, monkeypatch: pytest.MonkeyPatch, isolated_home: Path
) -> None:
    """A library numbering SGD_SM2_* per GM/T 0006 keys only with its profile saying so."""
    monkeypatch.setenv("SOFTSKF_SGD", "gmt0006")
    [device] = SkfBackend([str(softskf.library)]).devices()
    assert isinstance(device, SkfDevice) and device.family.name == "gmt0016"  # the built-in profile
    with device.open() as session:
        session.login(USER_PIN)
        session.create_container("c")
        with pytest.raises(NotSupported, match="0x00020100"):
            session.generate_key("c")
    user_dir = Path(os.environ["CERTASSIST_HOME"]) / "profiles"
    user_dir.mkdir(parents=True)
    builtin = next(p for p in json.loads(Path("resources/skf_profiles.json").read_text())["profiles"])
    builtin["skf"]["sgd"] = "gmt0006"
    (user_dir / "softskf.json").write_text(json.dumps({"profiles": [builtin]}))
    [device] = SkfBackend([str(softskf.library)], ProfileSet.load(user_dir)).devices()
    assert isinstance(device, SkfDevice) and device.family.name == "gmt0006"
    with device.open() as session:
        session.login(USER_PIN)
        SM2PublicKey.from_der(session.generate_key("c"))


def test_problems_are_reported_not_raised(softskf: SoftSkf, tmp_path: Path) -> None:
    not_skf = tmp_path / "libnot.so"
    not_skf.write_bytes(b"not a shared object")
    backend = SkfBackend([str(tmp_path / "missing.so"), str(not_skf), str(softskf.library)])
    assert len(backend.devices()) == 1
    assert any("missing.so" in p and "not found" in p for p in backend.problems)
    assert any("libnot.so" in p and "could not be loaded" in p for p in backend.problems)
    status = backend.status()
    assert status.available and str(softskf.library) in status.detail and "failed" in status.detail
    with pytest.raises(DriverUnavailable):
        load_library(str(not_skf))


def collect(watcher: SkfEventWatcher) -> List[SkfDeviceEvent]:
    events: List[SkfDeviceEvent] = []
    watcher.subscribe(events.append)
    return events


def wait_until(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture()
def watcher(backend: SkfBackend, device: SkfDevice) -> Iterator[SkfEventWatcher]:
    [watcher] = backend.watchers(poll_interval=0.1)
    yield watcher
    watcher.stop()


@pytest.mark.parametrize("mode", ["wait", "poll"])
def test_insert_and_remove_events(watcher: SkfEventWatcher, softskf: SoftSkf, mode: str) -> None:
    watcher.mode = mode
    events = collect(watcher)
    failing = watcher.subscribe(lambda _e: 1 / 0)  # a broken subscriber is logged, never fatal
    watcher.start()
    time.sleep(0.3)
    softskf.insert("second")
    wait_until(lambda: len(events) == 1)
    softskf.remove("second")
    wait_until(lambda: len(events) == 2)
    failing()
    lib = str(softskf.library.resolve())
    assert events == [
        SkfDeviceEvent(DeviceEventKind.INSERTED, lib, "second"),
        SkfDeviceEvent(DeviceEventKind.REMOVED, lib, "second"),
    ]
    started = time.monotonic()
    watcher.stop()
    assert not watcher.running and time.monotonic() - started < 1.5


def test_stop_while_blocked_and_restart(watcher: SkfEventWatcher, softskf: SoftSkf) -> None:
    events = collect(watcher)
    before = set(threading.enumerate())  # an earlier test's watcher may still be winding down
    watcher.start()
    watcher.start()  # idempotent
    time.sleep(0.2)
    threads = [t for t in set(threading.enumerate()) - before if t.name.startswith("skf-events")]
    assert len(threads) == 1
    watcher.stop()
    assert not watcher.running
    watcher.start()
    softskf.insert("third")
    wait_until(lambda: [e.device for e in events] == ["third"])


def test_a_key_no_profile_knows(softskf: SoftSkf) -> None:
    """Unknown vendor: the app's PIN bounds, the SGD family guessed from AlgAsymCap, no vendor-only decryption."""
    [device] = SkfBackend([str(softskf.library)], ProfileSet([])).devices()
    assert isinstance(device, SkfDevice) and device.profile is None
    assert (device.info.pin_policy.min_length, device.info.pin_policy.max_length) == (6, 20)
    assert device.family.name == "gmt0016" and not device.info.supports(Capability.SM2_DECRYPT)
    assert device.info.model == "SKF (GM/T 0016) device"
    with device.open() as session:
        session.login(USER_PIN)
        with pytest.raises(PinLengthInvalid) as too_long:
            session.change_pin(
                USER_PIN, "739146285017364829"
            )  # the key itself refuses: SAR_PIN_LEN_RANGE, no try spent
        assert too_long.value.raw_code == 0x0A000027 and session.pin_info().remaining == USER_TRIES
        with pytest.raises(ValueError, match="current admin PIN"):
            session.rotate_admin_credential()  # no documented default to try
        session.create_container("c")
        session.generate_key("c")
        with pytest.raises(NotSupported, match="no such call"):
            session.decrypt("c", SM2PrivateKey.generate().public_key.encrypt(b"x"))
