"""A USB key's admin PIN, escrowed at the issuing service, so that 证书解锁 with a mailed code works on a hard key.

Issuance on a hard key installs a fresh random admin PIN (``rotate_admin_credential``) and sends it with the request;
the service keeps it with the new pair and releases it only for a valid unlock code. 证书解锁 uses the released value
for SKF_UnblockPIN, then installs another fresh one and escrows it again (``PUT /api/v1/admin-credential``).

The order, so that a crash, a lost answer or a pulled-out key never loses the only copy of a key's admin PIN:

1. the new value is written to the journal (the OS keyring, else a 0600 file), marked *changing*, with the value it
   replaces (``None``: the vendor's default);
2. the key's admin PIN is changed (SKF_ChangePIN), and the journal marks it *changed*;
3. the value goes to the service (with the issuance request, or by PUT after 证书解锁);
4. only once the service confirmed it does the journal forget the value (it keeps the pair it is escrowed under,
   which is no secret).

A *changed* value left in the journal is sent at the next attempt (the retried issuance, the next 证书登录, the next
证书解锁). A *changing* one means the process stopped during the change itself: the key holds the old value or the new
one. When the old one was the vendor default, the key's own default flag tells which; otherwise the change is made
again from the old value, and a wrong-PIN answer means the new one is already in place (at most one admin try, and
only after such a crash).

A key issued elsewhere is asked with its profile's documented default admin PIN at most once, and only while the key
says that PIN is still the default; a refusal is remembered and that key is never asked again (an admin PIN locks
too). A key whose admin PIN is unknown is issued without an escrow, and the user is told 证书解锁 cannot work online.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Dict, Optional

import keyring.errors

from drivers.base import PinSession
from drivers.errors import DeviceError, PinIncorrect, PinLocked
from drivers.model import DeviceInfo
from drivers.soft.device_secret import os_keyring
from drivers.soft.driver import certassist_home
from drivers.soft.storage import atomic_write, locked

log = logging.getLogger(__name__)

SERVICE = "CertAssist admin escrow"
FALLBACK_FILE = "admin-escrow.json"


@dataclass(frozen=True)
class JournalEntry:
    """What this computer knows of one key's admin PIN."""

    pending: Optional[str] = None  # installed (or being installed) on the key, not yet confirmed escrowed
    previous: Optional[str] = None  # the value ``pending`` replaces; None: the vendor default
    changed: bool = False  # the key's admin PIN is ``pending`` now
    released: Optional[str] = None  # released by 证书解锁 and not yet used (a retry needs no second code)
    escrowed_under: Optional[str] = None  # serial of the pair the service keeps the key's admin PIN with
    default_refused: bool = False  # the key refused its vendor default: never try it again

    @property
    def empty(self) -> bool:
        return self == JournalEntry()

    def to_text(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> JournalEntry:
        try:
            raw = json.loads(text)
            return cls(**{k: raw[k] for k in asdict(cls()) if k in raw})
        except (ValueError, TypeError) as exc:
            raise DeviceError(f"the admin escrow journal entry is unreadable ({exc})", "escrow_journal") from exc


def device_key(info: DeviceInfo) -> str:
    return f"{info.backend}:{info.serial}"


class AdminJournal:
    """Journal entries by device, in the OS keyring (or a 0600 file beside the keystores where there is none).

    Every write must reach storage before the step it records: a failing keyring raises instead of going on."""

    def __init__(self, fallback_file: Optional[Path] = None) -> None:
        self.fallback_file = fallback_file or certassist_home() / FALLBACK_FILE

    def get(self, key: str) -> JournalEntry:
        backend = os_keyring()
        text: Optional[str] = None
        if backend is not None:
            with contextlib.suppress(keyring.errors.KeyringError):
                text = backend.get_password(SERVICE, key)
        if text is None:
            text = self._file().get(key)
        return JournalEntry() if text is None else JournalEntry.from_text(text)

    def put(self, key: str, entry: JournalEntry) -> None:
        backend = os_keyring()
        self.fallback_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with locked(self.fallback_file):
            if backend is not None:
                try:
                    if entry.empty:
                        with contextlib.suppress(keyring.errors.PasswordDeleteError):
                            backend.delete_password(SERVICE, key)
                    else:
                        backend.set_password(SERVICE, key, entry.to_text())
                    self._drop_from_file(key)
                    return
                except keyring.errors.KeyringError as exc:
                    log.warning("the OS keyring refused the admin escrow journal (%s); using the file", type(exc))
            entries = self._file()
            if entry.empty:
                entries.pop(key, None)
            else:
                entries[key] = entry.to_text()
            self._write(entries)

    def _file(self) -> Dict[str, str]:
        try:
            raw: Any = json.loads(self.fallback_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise DeviceError(f"{self.fallback_file} is unreadable: {exc}", "escrow_journal") from exc
        return {str(k): str(v) for k, v in raw.items()}

    def _drop_from_file(self, key: str) -> None:
        entries = self._file()
        if entries.pop(key, None) is not None:
            self._write(entries)

    def _write(self, entries: Dict[str, str]) -> None:
        atomic_write(self.fallback_file, json.dumps(entries, indent=1).encode(), mode=0o600)
        os.chmod(self.fallback_file, 0o600)


@dataclass
class Escrow:
    """What an issuance request says of the device's admin credential, and how its answer is recorded."""

    credential: Optional[str] = None  # a fresh one installed on the key (admin_credential)
    keep_of: Optional[str] = None  # the key's admin PIN did not change: the pair it is escrowed with
    journal: Optional[AdminJournal] = None
    key: str = ""

    def confirm(self, pair_serial: str, escrowed: bool) -> None:
        """The service answered: forget the value, keep the pair it is escrowed under."""
        if self.journal is None or not escrowed:
            return
        entry = self.journal.get(self.key)
        self.journal.put(
            self.key, replace(entry, pending=None, previous=None, changed=False, escrowed_under=pair_serial)
        )


def _admin_refused(exc: Exception) -> bool:
    return isinstance(exc, (PinIncorrect, PinLocked)) and exc.admin


def settle(session: PinSession, journal: AdminJournal, key: str) -> Optional[str]:
    """Finish an interrupted change (see the module's notes): the pending value, now on the key, or None."""
    entry = journal.get(key)
    if entry.pending is None:
        return None
    if not entry.changed:
        current: Optional[str] = entry.previous
        if current is None and session.pin_is_default(admin=True) is not False:
            current = session.admin_default()  # the key may still have its default: change it again
        if current:  # else the key says its default is gone: the change went through
            try:
                session.rotate_admin_credential(current, entry.pending)
            except PinIncorrect as exc:
                if not exc.admin:
                    raise
                log.info("an interrupted admin PIN change had gone through")  # the key has the new value
        entry = replace(entry, changed=True)
        journal.put(key, entry)
    return entry.pending


def _rotate(session: PinSession, journal: AdminJournal, key: str, current: Optional[str]) -> str:
    """Steps 1-2: a fresh value journalled, then installed (``current`` None: the vendor default)."""
    new = session.new_admin_credential()
    before = journal.get(key)
    entry = replace(before, pending=new, previous=current, changed=False, released=None)
    journal.put(key, entry)
    try:
        session.rotate_admin_credential(current or session.admin_default(), new)
    except (PinIncorrect, PinLocked) as exc:
        if exc.admin:  # a definite refusal: nothing changed on the key
            journal.put(key, replace(entry, pending=None, previous=None))
        raise
    journal.put(key, replace(entry, changed=True))
    return new


def for_issuance(session: PinSession, journal: AdminJournal, replaces: Optional[str] = None) -> Escrow:
    """The admin credential of a hard key's issuance request (the session is logged in with the user PIN).

    ``replaces``: the serial of the pair on this key the new one replaces (证书更新, 证书换发)."""
    key = device_key(session.device.info)
    pending = settle(session, journal, key)
    if pending is not None:  # installed by an earlier attempt and not yet confirmed: send it again
        return Escrow(credential=pending, journal=journal, key=key)
    entry = journal.get(key)
    default = session.admin_default()
    if default and not entry.default_refused and session.pin_is_default(admin=True) is not False:
        try:
            return Escrow(credential=_rotate(session, journal, key, None), journal=journal, key=key)
        except (PinIncorrect, PinLocked) as exc:
            if not exc.admin:
                raise
            log.info("the key refused its profile's default admin PIN; it is not asked again")
            journal.put(key, replace(journal.get(key), default_refused=True))
    return Escrow(keep_of=replaces or entry.escrowed_under, journal=journal, key=key)


def admin_for_unblock(session: PinSession, journal: AdminJournal, released: str) -> str:
    """The admin PIN to unblock with: the one escrowed (released by the unlock code), unless this computer installed
    a newer one the service has not confirmed yet. The released value is journalled first, so a retry after a pulled
    key needs no second code."""
    key = device_key(session.device.info)
    journal.put(key, replace(journal.get(key), released=released))
    pending = settle(session, journal, key)
    return pending if pending is not None else released


def after_unblock(session: PinSession, journal: AdminJournal, used: str) -> Escrow:
    """Steps 1-2 after SKF_UnblockPIN: the released value has been seen by this computer; replace it."""
    key = device_key(session.device.info)
    return Escrow(credential=_rotate(session, journal, key, used), journal=journal, key=key)


def released_before(journal: AdminJournal, info: DeviceInfo) -> Optional[str]:
    """The value an earlier 证书解锁 released for this key and could not use (the key was pulled out)."""
    return journal.get(device_key(info)).released


def forget_released(journal: AdminJournal, info: DeviceInfo) -> None:
    """The key refused the released value: drop it, so no retry spends another admin try on it."""
    key = device_key(info)
    journal.put(key, replace(journal.get(key), released=None))
