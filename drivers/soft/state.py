"""The soft keystore file as typed data: what is in a ``.cks`` file, read and written as JSON.

No cryptography here (listing keystores imports only this). The file is a JSON object:

- ``format``, ``version`` (3; version 1 files, written before the retry counters moved to the keyring, and
  version 2 files, written before the encryption-key history, are read for their one-time migration),
  ``id``, ``label``, ``created``;
- ``seq``: incremented by every write; the keyring record holds the last one, so an earlier copy of the
  file is recognised (drivers.soft.keystore);
- ``pin`` / ``admin``: retry limit, wrapped container key (and the PIN's KDF and length bounds), and
  ``set_at``, the ``seq`` of the write that set that secret;
- ``containers``: name -> ``sign`` / ``encrypt`` key entries (public key, sealed private key, certificate);
- ``history``: earlier encryption key pairs (renewal keeps them so files encrypted to an earlier
  encryption certificate still open): the container they came from (their sealing binds to it), public
  key, sealed private key, certificate, and when they were retired;
- ``migrated``: in the file written by the migration from version 1 only: the tries version 1 had spent;
- ``mac``: HMAC-SM3 over everything else, keyed from the device secret.
Binary values are Base64.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from drivers.errors import KeystoreCorrupted
from drivers.model import KeyUsage, PinPolicy

FORMAT = "certassist-soft-keystore"
VERSION = 3
HISTORY_VERSION = 3  # the first with ``history``
NO_HISTORY_VERSION = 2  # anti-rollback, no history: migrated on open
LEGACY_VERSION = 1  # retry counters in the file itself (before anti-rollback)
SUFFIX = ".cks"
MAC_FIELD = "mac"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


@dataclass
class KdfParams:
    name: str  # "scrypt"
    n: int
    r: int
    p: int
    salt: bytes


@dataclass
class PinSlot:
    """The user PIN: the container key wrapped under a key derived from it."""

    min_length: int
    max_length: int
    max_retries: int
    kdf: KdfParams
    wrapped_key: bytes
    set_at: int  # seq of the write that set this PIN


@dataclass
class AdminSlot:
    """The admin unblock secret (escrowed at the issuing service): the container key wrapped under it."""

    max_retries: int
    wrapped_key: bytes
    set_at: int


@dataclass
class KeyEntry:
    public: bytes  # SubjectPublicKeyInfo DER
    sealed_private: bytes  # SM4-GCM under the container key
    certificate: Optional[bytes] = None  # DER


@dataclass
class ContainerEntry:
    sign: Optional[KeyEntry] = None
    encrypt: Optional[KeyEntry] = None

    def key(self, usage: KeyUsage) -> Optional[KeyEntry]:
        return self.sign if usage is KeyUsage.SIGN else self.encrypt

    def set_key(self, usage: KeyUsage, entry: KeyEntry) -> None:
        if usage is KeyUsage.SIGN:
            self.sign = entry
        else:
            self.encrypt = entry


@dataclass
class HistoryEntry:
    """An earlier encryption key pair, sealed as it was in ``container`` (its sealing's associated data)."""

    container: str
    key: KeyEntry
    retired: int  # Unix time


@dataclass
class SpentTries:
    pin: int = 0
    admin: int = 0


@dataclass
class KeystoreState:
    id: str
    label: str
    created: int
    seq: int
    pin: PinSlot
    admin: AdminSlot
    containers: Dict[str, ContainerEntry] = field(default_factory=dict)
    history: List[HistoryEntry] = field(default_factory=list)
    migrated: Optional[SpentTries] = None  # only in the file the version-1 migration wrote
    legacy_spent: Optional[SpentTries] = None  # read from a version-1 file (never written)

    @property
    def policy(self) -> PinPolicy:
        return PinPolicy(self.pin.min_length, self.pin.max_length)


# -- reading -----------------------------------------------------------------------------------


def decode_document(raw: bytes, name: str) -> Dict[str, Any]:
    """The file's JSON object; KeystoreCorrupted when it is not one of ours."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise KeystoreCorrupted(f"soft keystore {name} is not readable: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise KeystoreCorrupted(f"{name} is not a CertAssist keystore")
    if document.get("version") not in (VERSION, NO_HISTORY_VERSION, LEGACY_VERSION):
        raise KeystoreCorrupted(f"{name} is a keystore of version {document.get('version')!r}; update CertAssist")
    return document


def _key_entry(raw: Optional[Dict[str, Any]]) -> Optional[KeyEntry]:
    if not raw:
        return None
    certificate = raw.get("certificate")
    return KeyEntry(unb64(raw["public"]), unb64(raw["sealed_private"]), unb64(certificate) if certificate else None)


def _history_entry(raw: Dict[str, Any]) -> HistoryEntry:
    key = _key_entry(raw["key"])
    if key is None:
        raise ValueError("a history entry without a key")
    return HistoryEntry(str(raw["container"]), key, _int(raw["retired"]))


def _int(value: Any) -> int:
    if type(value) is not int:  # bool is an int subclass: refuse it too
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def state_from_document(document: Dict[str, Any], name: str) -> KeystoreState:
    """Typed state of a version 3, 2 or 1 document (checked for shape, not for authenticity)."""
    try:
        legacy = document["version"] == LEGACY_VERSION
        pin, admin, kdf = document["pin"], document["admin"], document["pin"]["kdf"]
        migrated = document.get("migrated")
        state = KeystoreState(
            id=str(document["id"]),
            label=str(document["label"]),
            created=_int(document["created"]),
            seq=0 if legacy else _int(document["seq"]),
            pin=PinSlot(
                min_length=_int(pin["min_length"]),
                max_length=_int(pin["max_length"]),
                max_retries=_int(pin["max_retries"]),
                kdf=KdfParams(str(kdf["name"]), _int(kdf["n"]), _int(kdf["r"]), _int(kdf["p"]), unb64(kdf["salt"])),
                wrapped_key=unb64(pin["wrapped_key"]),
                set_at=0 if legacy else _int(pin["set_at"]),
            ),
            admin=AdminSlot(
                max_retries=_int(admin["max_retries"]),
                wrapped_key=unb64(admin["wrapped_key"]),
                set_at=0 if legacy else _int(admin["set_at"]),
            ),
            containers={
                str(cname): ContainerEntry(_key_entry(entry.get("sign")), _key_entry(entry.get("encrypt")))
                for cname, entry in document["containers"].items()
            },
            history=[_history_entry(raw) for raw in document.get("history", [])],
            migrated=SpentTries(_int(migrated["pin"]), _int(migrated["admin"])) if migrated else None,
        )
        if legacy:
            state.legacy_spent = SpentTries(
                max(0, state.pin.max_retries - _int(pin["remaining"])),
                max(0, state.admin.max_retries - _int(admin["remaining"])),
            )
        return state
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise KeystoreCorrupted(f"soft keystore {name} is not readable: {type(exc).__name__} {exc}") from exc


# -- writing -----------------------------------------------------------------------------------


def _key_document(entry: Optional[KeyEntry]) -> Optional[Dict[str, Any]]:
    if entry is None:
        return None
    return {
        "public": b64(entry.public),
        "sealed_private": b64(entry.sealed_private),
        "certificate": b64(entry.certificate) if entry.certificate is not None else None,
    }


def state_to_document(state: KeystoreState) -> Dict[str, Any]:
    """The version 3 document, without its MAC."""
    kdf = state.pin.kdf
    document: Dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "id": state.id,
        "label": state.label,
        "created": state.created,
        "seq": state.seq,
        "pin": {
            "min_length": state.pin.min_length,
            "max_length": state.pin.max_length,
            "max_retries": state.pin.max_retries,
            "kdf": {"name": kdf.name, "n": kdf.n, "r": kdf.r, "p": kdf.p, "salt": b64(kdf.salt)},
            "wrapped_key": b64(state.pin.wrapped_key),
            "set_at": state.pin.set_at,
        },
        "admin": {
            "max_retries": state.admin.max_retries,
            "wrapped_key": b64(state.admin.wrapped_key),
            "set_at": state.admin.set_at,
        },
        "containers": {
            cname: {usage.value: _key_document(entry.key(usage)) for usage in KeyUsage if entry.key(usage) is not None}
            for cname, entry in state.containers.items()
        },
    }
    document["history"] = [
        {"container": item.container, "key": _key_document(item.key), "retired": item.retired} for item in state.history
    ]
    if state.migrated is not None:
        document["migrated"] = {"pin": state.migrated.pin, "admin": state.migrated.admin}
    return document


def canonical(document: Dict[str, Any]) -> bytes:
    """The bytes the MAC covers: every field but the MAC itself, in one fixed encoding."""
    body = {k: v for k, v in document.items() if k != MAC_FIELD}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def dump_document(document: Dict[str, Any]) -> bytes:
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8")


def list_keystores(directory: Path) -> List[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob(f"*{SUFFIX}") if p.is_file())
