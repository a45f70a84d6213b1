"""The soft keystore file: format, key wrapping and the persisted PIN retry counter (DESIGN.md §4).

- Private keys are sealed with a random 128-bit container key (SM4-GCM, bound to keystore/container/usage).
- The container key is wrapped (a) under a key derived from the PIN with scrypt (memory-hard), mixed
  through HKDF-SM3 with the per-user device secret from the OS keyring, and (b) under an admin unblock
  secret that is handed to the caller for escrow and not kept here.
- The retry counter is written (fsync) *before* a PIN is tried and reset after success, so killing the
  process never buys extra guesses; at 0 the PIN is locked until unblocked with the admin secret.
- Every change is one atomic file replacement under an inter-process lock.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from drivers.errors import (
    AlreadyExists,
    KeystoreCorrupted,
    NotFound,
    PinIncorrect,
    PinLocked,
)
from drivers.model import DEFAULT_MAX_RETRIES, DEFAULT_PIN_MAX, DEFAULT_PIN_MIN, KeyUsage, PinInfo, PinPolicy
from drivers.soft.device_secret import DeviceSecrets
from drivers.soft.storage import atomic_write, locked, remove_stale_temp_files
from gm import sm4
from gm.errors import DecryptionError

FORMAT = "certassist-soft-keystore"
VERSION = 1
SUFFIX = ".cks"
# scrypt N=2^16, r=8, p=1: 64 MiB and ~0.26 s on the reference machine (target 0.2-0.5 s).
DEFAULT_KDF = {"name": "scrypt", "n": 1 << 16, "r": 8, "p": 1}
ADMIN_SECRET_BYTES = 32
ADMIN_MAX_RETRIES = 10

T = TypeVar("T")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


@dataclass
class KeyMaterial:
    """What a logged-in session holds: the unwrapped container key. Cleared on logout."""

    container_key: bytearray

    def bytes(self) -> bytes:
        return bytes(self.container_key)

    def wipe(self) -> None:
        for i in range(len(self.container_key)):
            self.container_key[i] = 0


class Keystore:
    """One keystore file = one soft device with one application (one PIN) and its containers."""

    def __init__(self, path: Path, secrets_store: DeviceSecrets) -> None:
        self.path = path
        self._secrets = secrets_store

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
        path = directory / f"{keystore_id}{SUFFIX}"
        device_secret = secrets_store.create(keystore_id)
        container_key = secrets.token_bytes(16)
        admin_secret = secrets.token_bytes(ADMIN_SECRET_BYTES)
        kdf_params = dict(kdf or DEFAULT_KDF, salt=_b64(secrets.token_bytes(16)))
        state: Dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "id": keystore_id,
            "label": label,
            "created": int(time.time()),
            "pin": {
                "min_length": DEFAULT_PIN_MIN,
                "max_length": DEFAULT_PIN_MAX,
                "max_retries": DEFAULT_MAX_RETRIES,
                "remaining": DEFAULT_MAX_RETRIES,
                "kdf": kdf_params,
                "wrapped_key": "",
            },
            "admin": {"max_retries": ADMIN_MAX_RETRIES, "remaining": ADMIN_MAX_RETRIES, "wrapped_key": ""},
            "containers": {},
        }
        store = cls(path, secrets_store)
        state["pin"]["wrapped_key"] = _b64(store._wrap_for_pin(state, pin, device_secret, container_key))
        state["admin"]["wrapped_key"] = _b64(store._wrap_for_admin(state, admin_secret, container_key))
        with locked(path):
            atomic_write(path, _dump(state))
        return store, admin_secret.hex()

    # -- state I/O -------------------------------------------------------------------------
    def load(self) -> Dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"soft keystore {self.path.name} no longer exists") from None
        try:
            state: Dict[str, Any] = json.loads(raw.decode("utf-8"))
        except ValueError as exc:
            raise KeystoreCorrupted(f"soft keystore {self.path.name} is not readable: {exc}") from exc
        if state.get("format") != FORMAT or state.get("version") != VERSION:
            raise KeystoreCorrupted(f"{self.path.name} is not a CertAssist keystore of version {VERSION}")
        return state

    def _update(self, change: Callable[[Dict[str, Any]], T]) -> T:
        """Load, apply ``change`` and write back atomically, all under the inter-process lock."""
        with locked(self.path):
            remove_stale_temp_files(self.path)
            state = self.load()
            result = change(state)
            atomic_write(self.path, _dump(state))
            return result

    def read(self) -> Dict[str, Any]:
        with locked(self.path):
            remove_stale_temp_files(self.path)
            return self.load()

    # -- identity --------------------------------------------------------------------------
    @property
    def keystore_id(self) -> str:
        return self.path.stem

    def policy(self, state: Dict[str, Any]) -> PinPolicy:
        return PinPolicy(state["pin"]["min_length"], state["pin"]["max_length"])

    def pin_info(self, admin: bool = False) -> PinInfo:
        part = self.read()["admin" if admin else "pin"]
        remaining = int(part["remaining"])
        return PinInfo(int(part["max_retries"]), remaining, remaining <= 0, low=0 < remaining <= 3)

    # -- key derivation --------------------------------------------------------------------
    def _device_secret(self) -> bytes:
        secret = self._secrets.get(self.keystore_id)
        if secret is None:
            raise KeystoreCorrupted(
                f"soft keystore {self.path.name} belongs to another computer or user account "
                "(its device secret is not in this keyring); copy certificates with the original "
                "account or re-issue them"
            )
        return secret

    def _aad(self, state: Dict[str, Any], what: str) -> bytes:
        return f"{FORMAT}/{state['id']}/{what}".encode()

    def _pin_kek(self, state: Dict[str, Any], pin: str, device_secret: bytes) -> bytes:
        kdf = state["pin"]["kdf"]
        if kdf["name"] != "scrypt":
            raise KeystoreCorrupted(f"unknown key derivation {kdf['name']!r}")
        stretched = Scrypt(salt=_unb64(kdf["salt"]), length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(
            pin.encode("utf-8")
        )
        return HKDF(hashes.SM3(), 16, salt=device_secret, info=self._aad(state, "pin-kek")).derive(stretched)

    def _admin_kek(self, state: Dict[str, Any], admin_secret: bytes) -> bytes:
        return HKDF(hashes.SM3(), 16, salt=None, info=self._aad(state, "admin-kek")).derive(admin_secret)

    def _wrap_for_pin(self, state: Dict[str, Any], pin: str, device_secret: bytes, key: bytes) -> bytes:
        return sm4.gcm_seal(self._pin_kek(state, pin, device_secret), key, self._aad(state, "container-key"))

    def _wrap_for_admin(self, state: Dict[str, Any], admin_secret: bytes, key: bytes) -> bytes:
        return sm4.gcm_seal(self._admin_kek(state, admin_secret), key, self._aad(state, "container-key"))

    # -- PIN operations (each spends a try first) ------------------------------------------
    def _try_unwrap(self, part: str, kek_of: Callable[[Dict[str, Any]], bytes]) -> bytes:
        """Spend a try (persisted), then unwrap; on success restore the counter. Returns the container key."""
        with locked(self.path):
            remove_stale_temp_files(self.path)
            state = self.load()
            if int(state[part]["remaining"]) <= 0:
                raise PinLocked("remaining=0", admin=part == "admin")
            state[part]["remaining"] = int(state[part]["remaining"]) - 1
            atomic_write(self.path, _dump(state))  # the try is spent before the check
            try:
                key = sm4.gcm_open(kek_of(state), _unb64(state[part]["wrapped_key"]), self._aad(state, "container-key"))
            except DecryptionError:
                left = int(state[part]["remaining"])
                if left <= 0:
                    raise PinLocked("remaining=0", admin=part == "admin") from None
                raise PinIncorrect(left, "wrapped_key_mismatch", admin=part == "admin") from None
            state[part]["remaining"] = int(state[part]["max_retries"])
            atomic_write(self.path, _dump(state))
            return key

    def verify_pin(self, pin: str) -> KeyMaterial:
        secret = self._device_secret()
        key = self._try_unwrap("pin", lambda state: self._pin_kek(state, pin, secret))
        return KeyMaterial(bytearray(key))

    def change_pin(self, old_pin: str, new_pin: str) -> None:
        material = self.verify_pin(old_pin)
        self._set_pin(material.bytes(), new_pin)
        material.wipe()

    def unblock(self, admin_secret_hex: str, new_pin: str) -> None:
        try:
            admin_secret = bytes.fromhex(admin_secret_hex.strip())
        except ValueError:
            admin_secret = b""
        key = self._try_unwrap("admin", lambda state: self._admin_kek(state, admin_secret))
        self._set_pin(key, new_pin)

    def _set_pin(self, container_key: bytes, new_pin: str) -> None:
        secret = self._device_secret()

        def rewrap(state: Dict[str, Any]) -> None:
            state["pin"]["kdf"]["salt"] = _b64(secrets.token_bytes(16))
            state["pin"]["wrapped_key"] = _b64(self._wrap_for_pin(state, new_pin, secret, container_key))
            state["pin"]["remaining"] = int(state["pin"]["max_retries"])

        self._update(rewrap)

    def rotate_admin(self, material: KeyMaterial) -> str:
        admin_secret = secrets.token_bytes(ADMIN_SECRET_BYTES)

        def rewrap(state: Dict[str, Any]) -> None:
            state["admin"]["wrapped_key"] = _b64(self._wrap_for_admin(state, admin_secret, material.bytes()))
            state["admin"]["remaining"] = int(state["admin"]["max_retries"])

        self._update(rewrap)
        return admin_secret.hex()

    # -- containers ------------------------------------------------------------------------
    def containers(self) -> Dict[str, Dict[str, Any]]:
        result: Dict[str, Dict[str, Any]] = self.read()["containers"]
        return result

    def create_container(self, name: str) -> None:
        def add(state: Dict[str, Any]) -> None:
            if name in state["containers"]:
                raise AlreadyExists(f"container {name!r} already exists")
            state["containers"][name] = {}

        self._update(add)

    def delete_container(self, name: str) -> None:
        def remove(state: Dict[str, Any]) -> None:
            if state["containers"].pop(name, None) is None:
                raise NotFound(f"no container {name!r}")

        self._update(remove)

    def store_key(
        self, material: KeyMaterial, container: str, usage: KeyUsage, public_der: bytes, private_raw: bytes
    ) -> None:
        """Seal and store a key pair; its certificate of the same usage is dropped (it no longer matches)."""

        def put(state: Dict[str, Any]) -> None:
            entry = _container(state, container)
            sealed = sm4.gcm_seal(material.bytes(), private_raw, self._aad(state, f"{container}/{usage.value}"))
            entry[usage.value] = {"public": _b64(public_der), "sealed_private": _b64(sealed), "certificate": None}

        self._update(put)

    def unseal_private(self, material: KeyMaterial, container: str, usage: KeyUsage) -> bytes:
        state = self.read()
        entry = _key_entry(state, container, usage)
        aad = self._aad(state, f"{container}/{usage.value}")
        try:
            return sm4.gcm_open(material.bytes(), _unb64(entry["sealed_private"]), aad)
        except DecryptionError as exc:
            raise KeystoreCorrupted(f"the {usage.value} key of {container!r} fails its integrity check") from exc

    def public_der(self, container: str, usage: KeyUsage) -> bytes:
        return _unb64(_key_entry(self.read(), container, usage)["public"])

    def set_certificate(self, container: str, usage: KeyUsage, der: Optional[bytes]) -> None:
        def put(state: Dict[str, Any]) -> None:
            _key_entry(state, container, usage)["certificate"] = None if der is None else _b64(der)

        self._update(put)

    def certificate(self, container: str, usage: KeyUsage) -> Optional[bytes]:
        state = self.read()
        entry = _container(state, container).get(usage.value)
        if not entry or not entry.get("certificate"):
            return None
        return _unb64(entry["certificate"])

    def destroy(self) -> None:
        """Remove the keystore file and its device secret (used when a soft certificate is revoked)."""
        with locked(self.path), contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._secrets.delete(self.keystore_id)
        with contextlib.suppress(FileNotFoundError):
            self.path.with_name(self.path.name + ".lock").unlink()


def _container(state: Dict[str, Any], name: str) -> Dict[str, Any]:
    try:
        entry: Dict[str, Any] = state["containers"][name]
    except KeyError:
        raise NotFound(f"no container {name!r} in this keystore") from None
    return entry


def _key_entry(state: Dict[str, Any], container: str, usage: KeyUsage) -> Dict[str, Any]:
    entry = _container(state, container).get(usage.value)
    if not entry:
        raise NotFound(f"container {container!r} has no {usage.value} key")
    result: Dict[str, Any] = entry
    return result


def _dump(state: Dict[str, Any]) -> bytes:
    return json.dumps(state, indent=1, sort_keys=True).encode("utf-8")


def list_keystores(directory: Path) -> List[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob(f"*{SUFFIX}") if p.is_file())
