"""The rules around a backup password: its strength, and how often a wrong one may be tried.

The limiter is persistent (a file under CERTASSIST_HOME, written atomically under a lock), so restarting
the program or scripting the command line buys no extra tries. It is a speed bump for guessing through
CertAssist only: whoever holds the backup file can test passwords offline with their own program, and
there only the key derivation's cost (gm.pkcs12.ITERATIONS) and the password's strength stand in the way.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List

from app.messages import Message, message

MIN_LENGTH = 10
MAX_LENGTH = 128
FAILURES_PER_WINDOW = 5
WINDOW_S = 60
_COMMON = ("password", "passw0rd", "qwerty", "123456", "abc123", "111111", "iloveyou", "admin", "woaini", "5201314")


class BackupError(ValueError):
    """A backup or restore refused with a reason the user can act on; ``text`` is translatable (the tray
    shows it in the interface language, the command line prints the Chinese text)."""

    def __init__(self, text: Message) -> None:
        super().__init__(str(text))
        self.text = text


class BackupPasswordInvalid(BackupError):
    """A new backup password that may not be used (too short or weak, or the two entries differ)."""


class BackupUnreadable(BackupError):
    """The file is damaged, or not a PKCS#12 file with SM2 keys that can be read; nothing was changed."""


class AlreadyRestored(BackupError):
    """The file's certificate is already in a soft keystore on this computer; nothing was created."""


class TooManyAttempts(Exception):
    """Wrong backup passwords were tried too often; ``wait_s`` seconds until the next try."""

    def __init__(self, wait_s: int) -> None:
        super().__init__(f"备份密码错误次数过多，请{wait_s}秒后再试")
        self.wait_s = wait_s


def _classes(password: str) -> int:
    checks: List[Callable[[str], bool]] = [
        lambda c: c.isascii() and c.islower(),
        lambda c: c.isascii() and c.isupper(),
        str.isdigit,
        lambda c: not (c.isascii() and c.isalnum()),
    ]
    return sum(1 for check in checks if any(check(c) for c in password))


def check_backup_password(password: str, confirmation: str) -> None:
    """Refuse a weak backup password, or two entries that differ, before anything is written."""
    if password != confirmation:
        raise BackupPasswordInvalid(message("两次输入的备份密码不一致"))
    if len(password) < MIN_LENGTH or len(password) > MAX_LENGTH:
        raise BackupPasswordInvalid(message("备份密码应为{low}-{high}个字符", low=MIN_LENGTH, high=MAX_LENGTH))
    if password != password.strip() or not password.isprintable():
        raise BackupPasswordInvalid(message("备份密码不能以空格开头或结尾，也不能含控制字符"))
    lowered = password.lower()
    if len(set(lowered)) <= 3 or any(word in lowered for word in _COMMON):
        raise BackupPasswordInvalid(message("备份密码过于简单（重复字符或常见密码），请换一个"))
    if _classes(password) < 3 and len(password) < 16:
        raise BackupPasswordInvalid(
            message("备份密码过于简单：请至少包含大写字母、小写字母、数字、符号中的三类，或使用16个字符以上的密码")
        )


@dataclass
class AttemptLimiter:
    """At most FAILURES_PER_WINDOW wrong passwords per WINDOW_S seconds, for every backup file on this account."""

    path: Path

    @classmethod
    def default(cls) -> AttemptLimiter:
        from drivers.soft.driver import certassist_home  # here: the command line's error table imports this module

        return cls(certassist_home() / "backup-attempts.json")

    def _failures(self, now: float) -> List[float]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            stamps = [float(t) for t in data.get("failures", [])]
        except (OSError, ValueError, TypeError, AttributeError):
            stamps = []  # missing or unreadable: start counting again (deleting it is no secret weapon, see above)
        return [t for t in stamps if now - WINDOW_S < t <= now]

    def check(self) -> None:
        """Raise TooManyAttempts while the window is full; call before every try."""
        now = time.time()
        failures = self._failures(now)
        if len(failures) >= FAILURES_PER_WINDOW:
            raise TooManyAttempts(int(failures[0] + WINDOW_S - now) + 1)

    def failed(self) -> None:
        """Count one wrong password (durably, before the caller reports it)."""
        from drivers.soft.storage import atomic_write, locked

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with locked(self.path):
            now = time.time()
            failures = [*self._failures(now), now]
            atomic_write(self.path, json.dumps({"failures": failures[-FAILURES_PER_WINDOW:]}).encode())
