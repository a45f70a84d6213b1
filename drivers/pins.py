"""PIN rules shared by every backend, the command line and the tray.

Every PIN must fit the device's length bounds (checked before any device call, so before a try is spent).
A *new* PIN (issuance with a new PIN, change, unblock) must also not be one of the weakest: all one
character or a block repeated (000000, 121212, 123123), an ascending or descending run (123456,
654321, 1234567890, abcdef), or one of the most common PINs. Existing PINs keep working: login never
applies the new-PIN rule.
"""

from __future__ import annotations

import string
from typing import Optional

from drivers.errors import PinLengthInvalid, PinMismatch, PinTooWeak
from drivers.model import PinPolicy, PinWeakness

# The most used PINs and passwords of 6+ characters in published leak studies (Chinese sites included)
# that the repetition and run rules do not already catch: keyboard walks, 520/1314 ("I love you [for
# life]"), mirrored and paired digits.
COMMON_PINS = frozenset(
    {
        "112233",
        "11223344",
        "111222",
        "123321",
        "12344321",
        "123654",
        "123654789",
        "147258",
        "147258369",
        "159357",
        "159753",
        "258369",
        "321654",
        "456123",
        "741852",
        "741852963",
        "789456",
        "789456123",
        "963852",
        "963852741",
        "520520",
        "5201314",
        "1314520",
        "521521",
        "woaini",
        "woaini1314",
        "a123456",
        "aa123456",
        "abc123",
        "123abc",
        "qq123456",
        "password",
        "iloveyou",
        "qwerty",
        "qwertyuiop",
        "asdfgh",
        "asdfghjkl",
        "zxcvbn",
        "zxcvbnm",
        "qazwsx",
        "1qaz2wsx",
        "1q2w3e4r",
        "qwe123",
    }
)


# Factory user PINs that USB keys and smart cards are shipped with (vendors' manuals; a profile adds its own in
# "pin": {"defaults": [...]}). A key still on one of them is asked to change it at first use.
FACTORY_PINS = frozenset(
    {"12345678", "123456", "1234", "111111", "11111111", "000000", "00000000", "888888", "88888888", "666666"}
)


def is_factory_pin(pin: str, policy: PinPolicy) -> bool:
    """Whether ``pin`` is a factory default: the device's profile names it, or it is a common vendor default."""
    return pin in policy.defaults or pin in FACTORY_PINS


def _is_repetition(pin: str) -> bool:
    """One character or a shorter block typed again and again: 000000, 121212, 123123, 12341234."""
    return any(len(pin) % size == 0 and pin[:size] * (len(pin) // size) == pin for size in range(1, len(pin) // 2 + 1))


def _step(a: str, b: str) -> Optional[int]:
    """+1 / -1 when ``b`` follows / precedes ``a`` (digits wrap: 9 -> 0 as in 1234567890), else None."""
    if a in string.digits and b in string.digits:
        diff = (int(b) - int(a)) % 10
        return {1: 1, 9: -1}.get(diff)
    if a in string.ascii_lowercase and b in string.ascii_lowercase:
        diff = ord(b) - ord(a)
        return diff if diff in (1, -1) else None
    return None


def _is_run(pin: str) -> bool:
    steps = {_step(a, b) for a, b in zip(pin, pin[1:])}
    return len(steps) == 1 and None not in steps


def weakness(pin: str) -> Optional[PinWeakness]:
    """Why ``pin`` is too easy to guess, or None when it is not one of the weakest."""
    low = pin.lower()
    if _is_repetition(low):
        return PinWeakness.REPEATED
    if _is_run(low):
        return PinWeakness.SEQUENCE
    if low in COMMON_PINS:
        return PinWeakness.COMMON
    return None


def check_pin_format(pin: str, policy: PinPolicy) -> None:
    """Refuse a PIN of the wrong length before any device call (and so before any retry is spent)."""
    if not isinstance(pin, str) or not (policy.min_length <= len(pin) <= policy.max_length):
        raise PinLengthInvalid(policy.min_length, policy.max_length)


def check_new_pin(new_pin: str, confirmation: Optional[str], policy: PinPolicy) -> None:
    """A PIN about to be set: its length, its confirmation (when asked twice) and not one of the weakest."""
    check_pin_format(new_pin, policy)
    if confirmation is not None and confirmation != new_pin:
        raise PinMismatch()
    reason = weakness(new_pin)
    if reason is not None:
        raise PinTooWeak(reason)
