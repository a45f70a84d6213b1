"""Identity numbers: 统一社会信用代码 (GB 32100-2015) and 居民身份证号码 (GB 11643, ISO 7064 MOD 11-2)."""

from __future__ import annotations

import re
import unicodedata

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_CHARS[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    code = code.strip().upper()
    return len(code) == 18 and all(c in USCC_CHARS for c in code) and uscc_check_char(code[:17]) == code[17]


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11]


def is_valid_resident_id(number: str) -> bool:
    number = number.strip().upper()
    return bool(re.fullmatch(r"\d{17}[\dX]", number)) and id_check_char(number[:17]) == number[17]


def mask_email(address: str) -> str:
    """z***n@example.com: enough for the user to recognise, not to harvest."""
    local, _, domain = address.partition("@")
    shown = local[0] + "***" + (local[-1] if len(local) > 1 else "")
    return f"{shown}@{domain}"


def normalise_username(username: str) -> str:
    """The one form of a user name, applied once wherever a user name comes in (registration, login, the
    operator's commands): NFKC (full-width letters are the ASCII ones), no surrounding white space, lower
    case. ``"dave "``, ``"DAVE"`` and ``"ｄａｖｅ"`` are the same user."""
    return unicodedata.normalize("NFKC", username).strip().lower()
