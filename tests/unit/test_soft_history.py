"""The soft keystore's encryption-key history (version 3): retiring a container keeps its encryption key,
decryption finds the key that fits, and version 2 files migrate on open without weakening anti-rollback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drivers.errors import KeystoreTampered, PinIncorrect
from drivers.model import KeyUsage
from drivers.soft import SoftBackend, SoftDevice
from drivers.soft.keystore import _mac
from drivers.soft.session import SoftSession
from drivers.soft.state import MAC_FIELD, b64
from gm.errors import DecryptionError
from gm.sm2 import SM2PrivateKey
from tests.conftest import FAST_KDF
from tests.unit.test_soft_rollback import die_after_writes

PIN = "480362"


@pytest.fixture()
def backend() -> SoftBackend:
    return SoftBackend(kdf=FAST_KDF)


def with_pair(device: SoftDevice, container: str) -> SM2PrivateKey:
    """A container with a signing key and an encryption key; returns the encryption key."""
    encryption = SM2PrivateKey.generate()
    with device.open() as session:
        session.login(PIN)
        session.create_container(container)
        session.import_key_pair(container, KeyUsage.SIGN, SM2PrivateKey.generate())
        session.import_key_pair(container, KeyUsage.ENCRYPT, encryption)
    return encryption


def test_retiring_a_container_keeps_its_encryption_key(backend: SoftBackend) -> None:
    device, _admin = backend.create_device("软证书 张三", PIN, PIN)
    old = with_pair(device, "old")
    new = with_pair(device, "new")
    old_file = old.public_key.encrypt(b"encrypted to the old certificate")
    with device.open() as session:
        session.login(PIN)
        session.retire_container("old")
        assert [c.name for c in session.containers()] == ["new"]
        [kept] = session.history()
        assert kept.container == "old" and kept.public_der == old.public_key.to_der()
        with pytest.raises(DecryptionError):
            session.decrypt("new", old_file)
        assert session.decrypt_any(old_file) == (b"encrypted to the old certificate", "old")
        assert session.decrypt_any(new.public_key.encrypt(b"x")) == (b"x", "new")
        with pytest.raises(DecryptionError, match="none of this keystore"):
            session.decrypt_any(SM2PrivateKey.generate().public_key.encrypt(b"someone else's"))
        # a key already kept (e.g. recovered from the KMC after a restore) is not added twice
        assert session.add_history("kmc-1", old, None, 0) is False
        assert session.add_history("kmc-2", SM2PrivateKey.generate(), None, 0) is True
        assert len(session.history()) == 2


def test_the_history_is_sealed_like_the_keys(backend: SoftBackend) -> None:
    device, _admin = backend.create_device("软证书 张三", PIN, PIN)
    old = with_pair(device, "old")
    with_pair(device, "new")
    with device.open() as session:
        session.login(PIN)
        session.retire_container("old")
    stored = json.loads(device.path.read_bytes())
    assert stored["version"] == 3 and len(stored["history"]) == 1
    assert stored["history"][0]["key"]["public"] == b64(old.public_key.to_der())
    assert b64(old.to_raw()) not in device.path.read_text() and old.to_raw().hex() not in device.path.read_text()
    with device.open() as session:
        session.login(PIN)
        exported = session.export_keys()
    assert [(k.container, k.usage, k.retired is not None) for k in exported] == [
        ("new", KeyUsage.SIGN, False),
        ("new", KeyUsage.ENCRYPT, False),
        ("old", KeyUsage.ENCRYPT, True),
    ]


def as_version_2(backend: SoftBackend, device: SoftDevice) -> bytes:
    """Rewrite the file as version 2 wrote it (no history), with a valid MAC: what an upgrade finds."""
    document = json.loads(device.path.read_bytes())
    document.pop(MAC_FIELD)
    document.pop("history")
    document["version"] = 2
    record = backend.secrets.record(device.path.stem)
    assert record is not None
    document[MAC_FIELD] = b64(_mac(document, document["id"], record.secret))
    data = json.dumps(document).encode()
    device.path.write_bytes(data)
    return data


def test_a_version_2_keystore_migrates_on_open_and_cannot_be_put_back(backend: SoftBackend) -> None:
    device, _admin = backend.create_device("软证书 张三", PIN, PIN)
    key = with_pair(device, "c")
    v2 = as_version_2(backend, device)
    seq = json.loads(v2)["seq"]
    with device.open() as session:
        assert session.pin_info().remaining == 10
        session.login(PIN)
        assert session.decrypt("c", key.public_key.encrypt(b"kept")) == b"kept"
        assert session.history() == []
    migrated = json.loads(device.path.read_bytes())
    assert migrated["version"] == 3 and migrated["seq"] == seq + 1 and migrated["history"] == []
    Path(device.path).write_bytes(v2)  # the pre-upgrade file put back
    with device.open() as session, pytest.raises(KeystoreTampered, match="earlier copy"):
        session.login(PIN)


@pytest.mark.parametrize("writes", [1, 2])
def test_killed_during_the_version_2_migration(
    backend: SoftBackend, monkeypatch: pytest.MonkeyPatch, writes: int
) -> None:
    device, _admin = backend.create_device("软证书 张三", PIN, PIN)
    with_pair(device, "c")
    with device.open() as session, pytest.raises(PinIncorrect):  # a try spent before the upgrade
        session.login("000000")
    as_version_2(backend, device)
    with monkeypatch.context() as patched:
        die_after_writes(patched, writes)  # 1: the version 3 file is written, the keyring not yet
        with device.open() as session, pytest.raises(SystemExit):
            session.pin_info()
    assert json.loads(device.path.read_bytes())["version"] == 3
    with device.open() as session:
        assert isinstance(session, SoftSession)
        assert session.pin_info().remaining == 9  # the spent try survives the crash
        session.login(PIN)
