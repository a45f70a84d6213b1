"""The soft keystore: key wrapping, the PIN retry counters and their protection (DESIGN.md §4).

- Private keys are sealed with a random 128-bit container key (SM4-GCM, bound to keystore/container/usage).
- The container key is wrapped (a) under a key derived from the PIN with scrypt (memory-hard), mixed
  through HKDF-SM3 with the keystore's device secret from the OS keyring, and (b) under an admin unblock
  secret that is handed to the caller for escrow and not kept here.
- Anti-rollback: the tries spent live in the keystore's keyring record (drivers.soft.device_secret), not
  in the file, together with ``seq``, the number of the last file write. The file carries ``seq`` too and
  an HMAC-SM3 over its whole content keyed from the device secret. An edited file fails its MAC; an
  earlier copy has a smaller ``seq`` than the record: both are refused (KeystoreTampered). Neither can
  give back a spent try or an old PIN.
- Crash safety, with the file and the keyring written separately:
  * a PIN try writes only the record: tries + 1 *before* the check, 0 after a right PIN. Killed before
    the first write: no check ran; after it: the try is spent. A kill never buys a guess.
  * a file change writes the file (``seq`` + 1) first, then the record. Killed in between, the file is
    one write ahead; the next open catches the record up (a secret set by that write starts with no
    tries spent, as it would have). The file never falls behind the record, so a kill never bricks it.
  * version 1 files (counters in the file) are migrated on first open the same way: the version 2 file
    (carrying the tries version 1 had spent) first, then the record.
  * version 2 files (no encryption-key history) pass the same MAC and rollback checks, then are
    rewritten as version 3 (``seq`` + 1, then the record) on first open; an earlier version 2 copy put
    back afterwards has the smaller ``seq`` and is refused like any rollback.
- History: 证书更新/证书换发 move the replaced container's encryption key pair into ``history``
  (``retire_container``) instead of deleting it, so data encrypted to it still decrypts.
- Every change is one atomic file replacement under an inter-process lock; the record update happens
  under the same lock.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from drivers.errors import AlreadyExists, KeystoreCorrupted, KeystoreTampered, NotFound, PinIncorrect, PinLocked
from drivers.model import DEFAULT_MAX_RETRIES, DEFAULT_PIN_MAX, DEFAULT_PIN_MIN, KeyUsage, PinInfo
from drivers.soft.device_secret import DeviceSecrets, KeystoreRecord
from drivers.soft.state import (
    FORMAT,
    LEGACY_VERSION,
    MAC_FIELD,
    NO_HISTORY_VERSION,
    SUFFIX,
    AdminSlot,
    ContainerEntry,
    HistoryEntry,
    KdfParams,
    KeyEntry,
    KeystoreState,
    PinSlot,
    SpentTries,
    b64,
    canonical,
    decode_document,
    dump_document,
    state_from_document,
    state_to_document,
    unb64,
)
from drivers.soft.storage import atomic_write, locked, remove_stale_temp_files
from gm import sm4
from gm.errors import DecryptionError
from gm.kdf import scrypt

# scrypt N=2^16, r=8, p=1: 64 MiB and ~0.26 s on the reference machine (target 0.2-0.5 s).
DEFAULT_KDF = {"name": "scrypt", "n": 1 << 16, "r": 8, "p": 1}
ADMIN_SECRET_BYTES = 32
ADMIN_MAX_RETRIES = 10

T = TypeVar("T")


@dataclass
class KeyMaterial:
    """What a logged-in session holds: the unwrapped container key. Cleared on logout."""

    container_key: bytearray

    def bytes(self) -> bytes:
        return bytes(self.container_key)

    def wipe(self) -> None:
        for i in range(len(self.container_key)):
            self.container_key[i] = 0


def _aad(state: KeystoreState, what: str) -> bytes:
    return f"{FORMAT}/{state.id}/{what}".encode()


def _mac(document: Dict[str, Any], state_id: str, device_secret: bytes) -> bytes:
    key = HKDF(hashes.SM3(), 32, salt=None, info=f"{FORMAT}/{state_id}/state-mac".encode()).derive(device_secret)
    mac = crypto_hmac.HMAC(key, hashes.SM3())
    mac.update(canonical(document))
    return mac.finalize()


def _caught_up(record: KeystoreRecord, state: KeystoreState) -> KeystoreRecord:
    """The record after the file write that produced ``state``: a secret set by a write the record has
    not seen starts with no tries spent."""
    pin = 0 if state.pin.set_at > record.seq else record.pin_failures
    admin = 0 if state.admin.set_at > record.seq else record.admin_failures
    return replace(record, seq=state.seq, pin_failures=pin, admin_failures=admin)


class Keystore:
    """One keystore file = one soft device with one application (one PIN) and its containers."""

    def __init__(self, path: Path, secrets_store: DeviceSecrets) -> None:
        self.path = path
        self._secrets = secrets_store

    @property
    def keystore_id(self) -> str:
        return self.path.stem

    # -- creation --------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        directory: Path,
        label: str,
        pin: str,
        secrets_store: DeviceSecrets,
        kdf: Optional[Dict[str, Any]] = None,
    ) -> Tuple[Keystore, str]:
        """A new keystore protected by ``pin``. Returns it and the admin secret to escrow."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        keystore_id = secrets.token_hex(8)
        store = cls(directory / f"{keystore_id}{SUFFIX}", secrets_store)
        record = secrets_store.create(keystore_id)  # before the file: the file's MAC needs the secret
        params = dict(kdf or DEFAULT_KDF)
        state = KeystoreState(
            id=keystore_id,
            label=label,
            created=int(time.time()),
            seq=record.seq + 1,
            pin=PinSlot(
                DEFAULT_PIN_MIN,
                DEFAULT_PIN_MAX,
                DEFAULT_MAX_RETRIES,
                KdfParams(str(params["name"]), int(params["n"]), int(params["r"]), int(params["p"]), b""),
                b"",
                set_at=record.seq + 1,
            ),
            admin=AdminSlot(ADMIN_MAX_RETRIES, b"", set_at=record.seq + 1),
        )
        container_key = secrets.token_bytes(16)
        admin_secret = secrets.token_bytes(ADMIN_SECRET_BYTES)
        store._wrap_pin(state, pin, record.secret, container_key)
        state.admin.wrapped_key = store._wrap(store._admin_kek(state, admin_secret), state, container_key)
        with locked(store.path):
            store._write(state, record.secret)
            secrets_store.put(keystore_id, _caught_up(record, state))
        return store, admin_secret.hex()

    # -- loading: MAC, rollback, catching up, migration ---------------------------------------
    def _load(self) -> Tuple[KeystoreState, KeystoreRecord]:
        """The verified state and its record. The caller holds the lock (this may write)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"soft keystore {self.path.name} no longer exists") from None
        document = decode_document(raw, self.path.name)
        record = self._secrets.record(self.keystore_id)
        if record is None:
            raise KeystoreCorrupted(
                f"soft keystore {self.path.name} belongs to another computer or user account "
                "(its device secret is not in this keyring); copy certificates with the original "
                "account or re-issue them"
            )
        if document["version"] == LEGACY_VERSION:
            if not record.legacy:
                raise self._rolled_back()
            return self._migrate(state_from_document(document, self.path.name), record)
        expected = _mac(document, str(document.get("id")), record.secret)
        try:
            found = unb64(str(document.get(MAC_FIELD, "")))
        except ValueError:  # binascii.Error
            found = b""
        if not hmac.compare_digest(found, expected):
            raise KeystoreTampered(
                f"soft keystore {self.path.name} was changed outside CertAssist (its integrity check fails); "
                "it is refused so that no spent PIN try or earlier PIN comes back. Restore the file CertAssist "
                "last wrote, or re-issue the certificate"
            )
        state = state_from_document(document, self.path.name)
        if record.legacy:  # killed between the migrated file and its record
            spent = state.migrated or SpentTries()
            record = replace(_caught_up(record, state), pin_failures=spent.pin, admin_failures=spent.admin)
            record = replace(record, legacy=False)
            self._secrets.put(self.keystore_id, record)
        elif state.seq < record.seq:
            raise self._rolled_back()
        elif state.seq > record.seq:  # killed between a file write and its record
            record = _caught_up(record, state)
            self._secrets.put(self.keystore_id, record)
        if document["version"] == NO_HISTORY_VERSION:  # authentic and current: rewrite it as version 3
            state.seq = record.seq + 1
            self._write(state, record.secret)
            record = _caught_up(record, state)
            self._secrets.put(self.keystore_id, record)
        return state, record

    def _rolled_back(self) -> KeystoreTampered:
        return KeystoreTampered(
            f"soft keystore {self.path.name} was replaced by an earlier copy; it is refused so that no spent "
            "PIN try or earlier PIN comes back. Restore the file CertAssist last wrote, or re-issue the "
            "certificate",
            rolled_back=True,
        )

    def _migrate(self, legacy: KeystoreState, record: KeystoreRecord) -> Tuple[KeystoreState, KeystoreRecord]:
        """A version 1 file becomes version 2; the tries it had spent move into the keyring record."""
        spent = legacy.legacy_spent or SpentTries()
        state = replace(legacy, seq=1, migrated=spent, legacy_spent=None)
        self._write(state, record.secret)
        upgraded = KeystoreRecord(record.secret, state.seq, spent.pin, spent.admin)
        self._secrets.put(self.keystore_id, upgraded)
        return state, upgraded

    def _write(self, state: KeystoreState, device_secret: bytes) -> None:
        document = state_to_document(state)
        document[MAC_FIELD] = b64(_mac(document, state.id, device_secret))
        atomic_write(self.path, dump_document(document))

    def _update(self, change: Callable[[KeystoreState, KeystoreRecord], T]) -> T:
        """Load, apply ``change``, write the file (seq + 1), then the record; all under the lock."""
        with locked(self.path):
            remove_stale_temp_files(self.path)
            state, record = self._load()
            result = change(state, record)
            state.seq = record.seq + 1
            state.migrated = None  # only the migration's own write needs it
            self._write(state, record.secret)
            self._secrets.put(self.keystore_id, _caught_up(record, state))
            return result

    def read(self) -> KeystoreState:
        with locked(self.path):
            remove_stale_temp_files(self.path)
            return self._load()[0]

    def pin_info(self, admin: bool = False) -> PinInfo:
        with locked(self.path):
            state, record = self._load()
        limit = state.admin.max_retries if admin else state.pin.max_retries
        remaining = max(0, limit - record.failures(admin))
        return PinInfo(limit, remaining, remaining <= 0, low=0 < remaining <= 3)

    # -- key derivation --------------------------------------------------------------------
    @staticmethod
    def _pin_kek(state: KeystoreState, pin: str, device_secret: bytes) -> bytes:
        kdf = state.pin.kdf
        if kdf.name != "scrypt":
            raise KeystoreCorrupted(f"unknown key derivation {kdf.name!r}")
        stretched = scrypt(pin.encode("utf-8"), kdf.salt, kdf.n, kdf.r, kdf.p, 32)
        return HKDF(hashes.SM3(), 16, salt=device_secret, info=_aad(state, "pin-kek")).derive(stretched)

    @staticmethod
    def _admin_kek(state: KeystoreState, admin_secret: bytes) -> bytes:
        return HKDF(hashes.SM3(), 16, salt=None, info=_aad(state, "admin-kek")).derive(admin_secret)

    @staticmethod
    def _wrap(kek: bytes, state: KeystoreState, key: bytes) -> bytes:
        return sm4.gcm_seal(kek, key, _aad(state, "container-key"))

    def _wrap_pin(self, state: KeystoreState, pin: str, device_secret: bytes, key: bytes) -> None:
        state.pin.kdf.salt = secrets.token_bytes(16)
        state.pin.wrapped_key = self._wrap(self._pin_kek(state, pin, device_secret), state, key)

    # -- PIN operations (each spends a try first) ------------------------------------------
    def _try_unwrap(self, admin: bool, kek_of: Callable[[KeystoreState, bytes], bytes]) -> bytes:
        """Spend a try (recorded), then unwrap; after success the tries are restored. Returns the container key."""
        with locked(self.path):
            remove_stale_temp_files(self.path)
            state, record = self._load()
            slot = state.admin if admin else state.pin
            spent = record.failures(admin) + 1
            if spent > slot.max_retries:
                raise PinLocked("remaining=0", admin=admin)
            self._secrets.put(self.keystore_id, record.with_failures(admin, spent))  # paid before the check
            try:
                key = sm4.gcm_open(kek_of(state, record.secret), slot.wrapped_key, _aad(state, "container-key"))
            except DecryptionError:
                left = slot.max_retries - spent
                if left <= 0:
                    raise PinLocked("remaining=0", admin=admin) from None
                raise PinIncorrect(left, "wrapped_key_mismatch", admin=admin) from None
            self._secrets.put(self.keystore_id, record.with_failures(admin, 0))
            return key

    def verify_pin(self, pin: str) -> KeyMaterial:
        key = self._try_unwrap(False, lambda state, secret: self._pin_kek(state, pin, secret))
        return KeyMaterial(bytearray(key))

    def change_pin(self, old_pin: str, new_pin: str) -> None:
        material = self.verify_pin(old_pin)
        try:
            self._set_pin(material.bytes(), new_pin)
        finally:
            material.wipe()

    def unblock(self, admin_secret_hex: str, new_pin: str) -> None:
        try:
            admin_secret = bytes.fromhex(admin_secret_hex.strip())
        except ValueError:
            admin_secret = b""
        key = self._try_unwrap(True, lambda state, _secret: self._admin_kek(state, admin_secret))
        self._set_pin(key, new_pin)

    def _set_pin(self, container_key: bytes, new_pin: str) -> None:
        def rewrap(state: KeystoreState, record: KeystoreRecord) -> None:
            self._wrap_pin(state, new_pin, record.secret, container_key)
            state.pin.set_at = record.seq + 1  # this write: its record starts the new PIN with no try spent

        self._update(rewrap)

    def rotate_admin(self, material: KeyMaterial) -> str:
        admin_secret = secrets.token_bytes(ADMIN_SECRET_BYTES)

        def rewrap(state: KeystoreState, record: KeystoreRecord) -> None:
            state.admin.wrapped_key = self._wrap(self._admin_kek(state, admin_secret), state, material.bytes())
            state.admin.set_at = record.seq + 1

        self._update(rewrap)
        return admin_secret.hex()

    # -- containers ------------------------------------------------------------------------
    def containers(self) -> Dict[str, ContainerEntry]:
        return self.read().containers

    def create_container(self, name: str) -> None:
        def add(state: KeystoreState, _record: KeystoreRecord) -> None:
            if name in state.containers:
                raise AlreadyExists(f"container {name!r} already exists")
            state.containers[name] = ContainerEntry()

        self._update(add)

    def delete_container(self, name: str) -> None:
        def remove(state: KeystoreState, _record: KeystoreRecord) -> None:
            if state.containers.pop(name, None) is None:
                raise NotFound(f"no container {name!r}")

        self._update(remove)

    def store_key(
        self, material: KeyMaterial, container: str, usage: KeyUsage, public_der: bytes, private_raw: bytes
    ) -> None:
        """Seal and store a key pair; its certificate of the same usage is dropped (it no longer matches)."""

        def put(state: KeystoreState, _record: KeystoreRecord) -> None:
            sealed = sm4.gcm_seal(material.bytes(), private_raw, _aad(state, f"{container}/{usage.value}"))
            _container(state, container).set_key(usage, KeyEntry(public_der, sealed))

        self._update(put)

    def unseal_private(self, material: KeyMaterial, container: str, usage: KeyUsage) -> bytes:
        state = self.read()
        entry = _key_entry(state, container, usage)
        try:
            return sm4.gcm_open(material.bytes(), entry.sealed_private, _aad(state, f"{container}/{usage.value}"))
        except DecryptionError as exc:
            raise KeystoreCorrupted(f"the {usage.value} key of {container!r} fails its integrity check") from exc

    def public_der(self, container: str, usage: KeyUsage) -> bytes:
        return _key_entry(self.read(), container, usage).public

    def set_certificate(self, container: str, usage: KeyUsage, der: Optional[bytes]) -> None:
        def put(state: KeystoreState, _record: KeystoreRecord) -> None:
            _key_entry(state, container, usage).certificate = der

        self._update(put)

    def certificate(self, container: str, usage: KeyUsage) -> Optional[bytes]:
        entry = _container(self.read(), container).key(usage)
        return None if entry is None else entry.certificate

    # -- encryption-key history --------------------------------------------------------------
    def retire_container(self, name: str) -> None:
        """Remove a replaced container, keeping its encryption key pair (and certificate) as history."""

        def retire(state: KeystoreState, _record: KeystoreRecord) -> None:
            entry = state.containers.pop(name, None)
            if entry is None:
                raise NotFound(f"no container {name!r}")
            if entry.encrypt is not None and all(item.key.public != entry.encrypt.public for item in state.history):
                state.history.append(HistoryEntry(name, entry.encrypt, int(time.time())))

        self._update(retire)

    def history(self) -> List[HistoryEntry]:
        return self.read().history

    def add_history(
        self,
        material: KeyMaterial,
        label: str,
        public_der: bytes,
        private_raw: bytes,
        certificate: Optional[bytes],
        retired: int,
    ) -> bool:
        """Keep an earlier encryption key pair (restored from a backup, recovered from the KMC). False when
        the keystore already has it."""

        def put(state: KeystoreState, _record: KeystoreRecord) -> bool:
            known = [item.key.public for item in state.history]
            known += [entry.encrypt.public for entry in state.containers.values() if entry.encrypt is not None]
            if public_der in known:
                return False
            sealed = sm4.gcm_seal(material.bytes(), private_raw, _aad(state, f"{label}/{KeyUsage.ENCRYPT.value}"))
            state.history.append(HistoryEntry(label, KeyEntry(public_der, sealed, certificate), retired))
            return True

        return self._update(put)

    def unseal_history(self, material: KeyMaterial, item: HistoryEntry) -> bytes:
        state = self.read()
        try:
            return sm4.gcm_open(
                material.bytes(), item.key.sealed_private, _aad(state, f"{item.container}/{KeyUsage.ENCRYPT.value}")
            )
        except DecryptionError as exc:
            raise KeystoreCorrupted(
                f"an earlier encryption key (from {item.container!r}) fails its integrity check"
            ) from exc

    def destroy(self) -> None:
        """Remove the keystore file and its record (used when a soft certificate is revoked)."""
        with locked(self.path), contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._secrets.delete(self.keystore_id)
        with contextlib.suppress(FileNotFoundError):
            self.path.with_name(self.path.name + ".lock").unlink()


def _container(state: KeystoreState, name: str) -> ContainerEntry:
    try:
        return state.containers[name]
    except KeyError:
        raise NotFound(f"no container {name!r} in this keystore") from None


def _key_entry(state: KeystoreState, container: str, usage: KeyUsage) -> KeyEntry:
    entry = _container(state, container).key(usage)
    if entry is None:
        raise NotFound(f"container {container!r} has no {usage.value} key")
    return entry
