"""Anti-rollback of the soft keystore: the file alone can neither give back spent PIN tries nor an old PIN.

Restoring an earlier copy or editing the JSON is refused (or changes nothing); a process killed between
the file write and the keyring write never bricks the keystore; version 1 files migrate on first open.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable, Dict, Iterator

import keyring
import keyring.backends.fail
import pytest

from drivers.errors import KeystoreTampered, PinIncorrect, PinLocked
from drivers.model import KeyUsage
from drivers.soft import SoftBackend, SoftDevice
from drivers.soft.device_secret import SERVICE, DeviceSecrets
from drivers.soft.keystore import Keystore
from gm.sm2 import SM2PublicKey
from tests.conftest import FAST_KDF

PIN = "480362"
NEW_PIN = "739146"
WRONG = "000000"
V1_DIR = Path(__file__).with_name("data") / "keystore_v1"


@pytest.fixture(params=["os-keyring", "fallback-file"])
def backend(request: pytest.FixtureRequest) -> Iterator[SoftBackend]:
    """Both places a keystore's record can live: the OS keyring, or the 0600 file when there is none."""
    if request.param == "fallback-file":
        previous = keyring.get_keyring()
        keyring.set_keyring(keyring.backends.fail.Keyring())
        yield SoftBackend(kdf=FAST_KDF)
        keyring.set_keyring(previous)
    else:
        yield SoftBackend(kdf=FAST_KDF)


@pytest.fixture()
def device(backend: SoftBackend) -> SoftDevice:
    return backend.create_device("软证书 张三", PIN)[0]


def wrong_tries(device: SoftDevice, count: int) -> None:
    with device.open() as session:
        for _ in range(count):
            with pytest.raises((PinIncorrect, PinLocked)):
                session.login(WRONG)


def remaining(device: SoftDevice) -> int:
    with device.open() as session:
        left = session.pin_info().remaining
    assert left is not None
    return left


# -- restoring an earlier copy -------------------------------------------------------------------


def test_an_earlier_copy_restored_after_wrong_tries_gives_none_back(device: SoftDevice) -> None:
    path = Path(device.info.detail)
    earlier = path.read_bytes()
    wrong_tries(device, 3)
    path.write_bytes(earlier)
    assert remaining(device) == 7  # the tries are counted where the file cannot reach
    wrong_tries(device, 7)
    path.write_bytes(earlier)
    with device.open() as session, pytest.raises(PinLocked):
        session.login(PIN)  # locked stays locked, even with the right PIN and the old file


def test_an_earlier_copy_from_before_a_pin_change_is_refused(device: SoftDevice) -> None:
    path = Path(device.info.detail)
    earlier = path.read_bytes()
    with device.open() as session:
        session.change_pin(PIN, NEW_PIN)
    current = path.read_bytes()
    path.write_bytes(earlier)  # would let the old PIN in again
    with device.open() as session:
        for attempt in (lambda: session.login(PIN), session.pin_info, session.containers):
            with pytest.raises(KeystoreTampered, match="earlier copy") as refused:
                attempt()
            assert refused.value.rolled_back and refused.value.raw_code == "rolled_back"
    assert path.read_bytes() == earlier  # refused, not overwritten: the user can put the right file back
    path.write_bytes(current)
    with device.open() as session:
        session.login(NEW_PIN)
        assert session.pin_info().remaining == 10


def test_an_earlier_copy_of_one_keystore_leaves_the_others_alone(backend: SoftBackend) -> None:
    first = backend.create_device("一", PIN)[0]
    second = backend.create_device("二", PIN)[0]
    earlier = Path(first.info.detail).read_bytes()
    wrong_tries(second, 2)
    with first.open() as session:
        session.login(PIN)
        session.create_container("c")
    Path(first.info.detail).write_bytes(earlier)
    with first.open() as session, pytest.raises(KeystoreTampered):
        session.login(PIN)
    assert remaining(second) == 8
    with second.open() as session:
        session.login(PIN)
        assert session.pin_info().remaining == 10


# -- editing the file ----------------------------------------------------------------------------

EDITS: Dict[str, Callable[[Dict[str, Any]], None]] = {
    "more tries": lambda d: d["pin"].update(max_retries=1000),
    "shorter PINs": lambda d: d["pin"].update(min_length=1),
    "a retry counter": lambda d: d["pin"].update(remaining=10),
    "a later seq": lambda d: d.update(seq=d["seq"] + 5),
    "the PIN set at a later write": lambda d: d["pin"].update(set_at=d["seq"] + 1),
    "the label": lambda d: d.update(label="别人"),
    "a swapped wrapped key": lambda d: d["pin"].update(wrapped_key=d["admin"]["wrapped_key"]),
    "no MAC": lambda d: d.pop("mac"),
    "a MAC that is not Base64": lambda d: d.update(mac="!"),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edited_file_is_refused_as_tampered(device: SoftDevice, edit: str) -> None:
    wrong_tries(device, 2)
    path = Path(device.info.detail)
    original = path.read_bytes()
    document = json.loads(original)
    EDITS[edit](document)
    path.write_text(json.dumps(document, indent=1))
    with device.open() as session:
        with pytest.raises(KeystoreTampered, match="changed outside CertAssist") as refused:
            session.login(PIN)
        assert not refused.value.rolled_back and refused.value.raw_code == "mac_mismatch"
        with pytest.raises(KeystoreTampered):
            session.pin_info()
    path.write_bytes(original)
    assert remaining(device) == 8  # the refusal spent no try


# -- killed between the file write and the keyring write ------------------------------------------


def die_after_writes(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """The process 'dies' right after its ``count``-th durable write from now (a keystore file or a
    keyring record), as a SIGKILL between two writes would leave things."""
    left = [count]

    def counted(original: Callable[..., None]) -> Callable[..., None]:
        def write(*args: Any, **kwargs: Any) -> None:
            original(*args, **kwargs)
            left[0] -= 1
            if left[0] == 0:
                raise SystemExit(f"killed after write {count}")

        return write

    monkeypatch.setattr(Keystore, "_write", counted(Keystore._write))
    monkeypatch.setattr(DeviceSecrets, "put", counted(DeviceSecrets.put))


# change_pin writes: the spent try (record), its reset (record), the new wrapping (file), its seq (record).
# After each: (PIN that opens, tries left before that login)
CHANGE_PIN_AFTER_WRITE = {1: (PIN, 6), 2: (PIN, 10), 3: (NEW_PIN, 10), 4: (NEW_PIN, 10)}


@pytest.mark.parametrize("writes", sorted(CHANGE_PIN_AFTER_WRITE))
def test_killed_during_a_pin_change(device: SoftDevice, monkeypatch: pytest.MonkeyPatch, writes: int) -> None:
    wrong_tries(device, 3)
    with monkeypatch.context() as patched:
        die_after_writes(patched, writes)
        with device.open() as session, pytest.raises(SystemExit):
            session.change_pin(PIN, NEW_PIN)
    opens, left = CHANGE_PIN_AFTER_WRITE[writes]
    with device.open() as session:  # never refused: the file is never behind its record
        assert session.pin_info().remaining == left  # the try in flight at write 1 is paid for
        session.login(opens)
        assert session.pin_info().remaining == 10


# unblock_pin writes: the spent admin try, its reset, the new PIN (file), its seq (record).
@pytest.mark.parametrize("writes", [1, 2, 3, 4])
def test_killed_during_an_unblock(backend: SoftBackend, monkeypatch: pytest.MonkeyPatch, writes: int) -> None:
    device, admin = backend.create_device("unblock", PIN)
    wrong_tries(device, 10)
    with monkeypatch.context() as patched:
        die_after_writes(patched, writes)
        with device.open() as session, pytest.raises(SystemExit):
            session.unblock_pin(admin, NEW_PIN)
    with device.open() as session:
        if writes <= 2:  # the new PIN never reached the file: still locked, the admin secret still works
            assert session.pin_info().locked
            assert session.pin_info(admin=True).remaining == (9 if writes == 1 else 10)
            session.unblock_pin(admin, NEW_PIN)
        assert not session.pin_info().locked  # never bricked: an unblock that reached the file counts
        session.login(NEW_PIN)


@pytest.mark.parametrize("writes", [1, 2])
def test_killed_during_a_container_write(device: SoftDevice, monkeypatch: pytest.MonkeyPatch, writes: int) -> None:
    wrong_tries(device, 2)
    with monkeypatch.context() as patched:
        die_after_writes(patched, writes)
        with device.open() as session, pytest.raises(SystemExit):
            session.create_container("c")
    with device.open() as session:
        assert [c.name for c in session.containers()] == ["c"]
        assert session.pin_info().remaining == 8  # tries spent on a PIN that did not change stay spent


# -- version 1 keystores --------------------------------------------------------------------------


@pytest.fixture()
def v1_device(backend: SoftBackend) -> Iterator[SoftDevice]:
    """The keystore version 1 wrote (tests/unit/data/keystore_v1/make.py): 3 tries spent."""
    record = json.loads((V1_DIR / "record.json").read_text(encoding="utf-8"))
    backend.directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(V1_DIR / f"{record['keystore_id']}.cks", backend.directory)
    secrets = DeviceSecrets(backend.secrets_file)
    if keyring.get_keyring().priority > 0:  # version 1 kept the bare hex secret where the record now is
        keyring.set_password(SERVICE, record["keystore_id"], record["keyring_value"])
    else:
        secrets._write_entry(record["keystore_id"], record["keyring_value"])
    [device] = backend.devices()
    assert isinstance(device, SoftDevice)
    yield device


def v1_record() -> Dict[str, str]:
    result: Dict[str, str] = json.loads((V1_DIR / "record.json").read_text(encoding="utf-8"))
    return result


def test_a_version_1_keystore_migrates_on_first_open(v1_device: SoftDevice) -> None:
    record = v1_record()
    path = Path(v1_device.info.detail)
    v1_bytes = path.read_bytes()
    assert json.loads(v1_bytes)["version"] == 1
    with v1_device.open() as session:
        assert session.pin_info().remaining == 7  # carried over, not reset
        session.login(record["pin"])
        assert session.public_key_der("张三").hex() == record["sign_public"]
        assert session.public_key_der("张三", KeyUsage.ENCRYPT).hex() == record["encrypt_public"]
        public = SM2PublicKey.from_der(bytes.fromhex(record["sign_public"]))
        public.verify(session.sign("张三", b"after migration"), b"after migration")
        encryption = SM2PublicKey.from_der(bytes.fromhex(record["encrypt_public"]))
        assert session.decrypt("张三", encryption.encrypt(b"secret")) == b"secret"
        for usage in KeyUsage:
            cert = session.read_certificate("张三", usage)
            assert cert is not None and cert.common_name == "张三"
        assert session.pin_info().remaining == 10
    migrated = json.loads(path.read_bytes())
    assert migrated["version"] == 3 and migrated["seq"] == 1 and "mac" in migrated  # the current version
    assert "remaining" not in migrated["pin"]
    path.write_bytes(v1_bytes)  # a pre-upgrade backup put back after the migration
    with v1_device.open() as session, pytest.raises(KeystoreTampered, match="earlier copy"):
        session.login(record["pin"])


def test_a_version_1_keystore_unblocks_with_its_escrowed_secret(v1_device: SoftDevice) -> None:
    with v1_device.open() as session:
        session.unblock_pin(v1_record()["admin_secret"], NEW_PIN)
        session.login(NEW_PIN)


@pytest.mark.parametrize("writes", [1, 2])
def test_killed_during_the_migration(v1_device: SoftDevice, monkeypatch: pytest.MonkeyPatch, writes: int) -> None:
    with monkeypatch.context() as patched:
        die_after_writes(patched, writes)  # 1: the version 2 file is written, the keyring still has version 1
        with v1_device.open() as session, pytest.raises(SystemExit):
            session.pin_info()
    assert json.loads(Path(v1_device.info.detail).read_bytes())["version"] == 3
    with v1_device.open() as session:
        assert session.pin_info().remaining == 7  # the tries version 1 had spent survive the crash
        session.login(v1_record()["pin"])
