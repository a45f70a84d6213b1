"""Token profiles: vendor recognition (manufacturer ID, ATR), PKCS#11 modules per OS, PIN bounds, SM2 mechanisms,
SKF (GM/T 0016) libraries.

Built-in profiles live in ``resources/token_profiles.json`` and ``resources/skf_profiles.json``; users add
theirs in ``CERTASSIST_HOME/profiles/*.json`` (same schema; a user profile with a built-in's id replaces it).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import ntpath
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import AbstractSet, Any, Dict, Iterable, List, Optional, Tuple

from drivers.model import PinPolicy

BUILTIN_FILE = Path(__file__).resolve().parent.parent / "resources" / "token_profiles.json"
BUILTIN_SKF_FILE = BUILTIN_FILE.with_name("skf_profiles.json")


def _frozen_resources(name: str = "token_profiles.json") -> Optional[Path]:
    meipass = getattr(sys, "_MEIPASS", None)
    return Path(meipass) / "resources" / name if meipass else None


def _int(value: Any) -> int:
    return int(value, 0) if isinstance(value, str) else int(value)


class SignatureEncoding(str, enum.Enum):
    DER = "der"  # GM/T 0009 SM2Signature
    RAW = "raw"  # r || s


@dataclass(frozen=True)
class Sm2Mechanisms:
    """Vendor PKCS#11 numbers for SM2 (there is no standard SM2 mechanism in PKCS#11 2.40).

    A token's module may lack some of them: ``available(mechanisms)`` keeps those it offers.
    """

    key_type: int  # the vendor's CKK_* for SM2 keys
    keygen: int
    sign_message_default_id: Optional[int]  # SM3 with Z(1234567812345678) computed on the token
    sign_digest: Optional[int]  # signs e = SM3(Z||M) computed by us
    decrypt: Optional[int]
    signature_format: SignatureEncoding = SignatureEncoding.DER

    def available(self, offered: AbstractSet[int]) -> Optional[Sm2Mechanisms]:
        """The subset a module offers; None without key generation (then SM2 is unusable there)."""
        if self.keygen not in offered:
            return None

        def keep(value: Optional[int]) -> Optional[int]:
            return value if value is not None and value in offered else None

        return dataclasses.replace(
            self,
            sign_message_default_id=keep(self.sign_message_default_id),
            sign_digest=keep(self.sign_digest),
            decrypt=keep(self.decrypt),
        )


@dataclass(frozen=True)
class SymmetricMechanisms:
    """Vendor PKCS#11 numbers for SM3 and SM4 (no standard numbers either); reported by diagnostics."""

    sm3: Optional[int] = None
    sm4_ecb: Optional[int] = None
    sm4_cbc: Optional[int] = None
    sm4_mac: Optional[int] = None

    def sm4(self) -> Tuple[int, ...]:
        return tuple(m for m in (self.sm4_ecb, self.sm4_cbc, self.sm4_mac) if m is not None)


@dataclass(frozen=True)
class Iso7816Pin:
    """How a card's PIN applet is driven with ISO 7816-4 VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER."""

    aid: bytes  # applet to SELECT first (empty: none)
    pin_ref: int  # P2 of VERIFY for the user PIN
    puk_ref: Optional[int]  # reference of the unblock code (admin credential), if the card has one
    pad_length: int  # PINs are padded to this many bytes
    pad_byte: int
    max_retries: Optional[int]

    def encode(self, pin: str) -> bytes:
        raw = pin.encode("utf-8")
        if len(raw) > self.pad_length:
            raise ValueError(f"PIN longer than the card's {self.pad_length}-byte PIN field")
        return raw + bytes([self.pad_byte]) * (self.pad_length - len(raw))


@dataclass(frozen=True)
class AtrPattern:
    """Hex bytes with ``??`` for any byte; a trailing ``*`` allows any suffix (historical bytes vary)."""

    text: str
    regex: re.Pattern[str] = field(compare=False)

    @classmethod
    def parse(cls, text: str) -> AtrPattern:
        tokens = text.replace(":", " ").split()
        tail = tokens[-1:] == ["*"]
        body = tokens[:-1] if tail else tokens
        parts = []
        for item in body:
            if item == "??":
                parts.append("[0-9A-F]{2}")
            elif re.fullmatch(r"[0-9A-Fa-f]{2}", item):
                parts.append(item.upper())
            else:
                raise ValueError(f"bad ATR pattern byte {item!r} in {text!r}")
        return cls(text, re.compile("".join(parts) + (".*" if tail else "") + r"\Z"))

    def matches(self, atr: bytes) -> bool:
        return self.regex.match(atr.hex().upper()) is not None


@dataclass(frozen=True)
class SkfLibraries:
    """A vendor's SKF (GM/T 0016) library: file names or paths per OS and how to drive it."""

    libraries: Dict[str, Tuple[str, ...]]  # "windows" / "linux" / "darwin" -> names or paths (env vars expand)
    sgd: str = "gmt0016"  # header family of SGD_SM2_*: "gmt0016" (0x00020100 = SM2_1) or "gmt0006"
    calling_convention: Optional[str] = None  # Windows: "stdcall" (the default) or "cdecl"
    application: Optional[str] = None  # the application to open when a key holds several
    admin_pin_default: Optional[str] = None  # the vendor's documented initial admin PIN (tried once, never guessed)
    ecc_decrypt: Optional[str] = None  # signature of the vendor's SKF_ECCDecrypt: "with_sign_flag" or "plain"
    encoding: Optional[str] = None  # of names and PINs passed as LPSTR (default: gbk on Windows, else utf-8)
    reference: str = ""  # where these names come from

    def library_candidates(self, platform: Optional[str] = None) -> Tuple[str, ...]:
        return self.libraries.get(_os_key(platform or sys.platform), ())


@dataclass(frozen=True)
class TokenProfile:
    id: str
    vendor: str
    manufacturers: Tuple[str, ...]
    atrs: Tuple[AtrPattern, ...]
    modules: Dict[str, Tuple[str, ...]]
    pin_policy: Optional[PinPolicy]
    sm2: Optional[Sm2Mechanisms]
    source: str
    iso7816: Optional[Iso7816Pin] = None
    mechanisms: SymmetricMechanisms = field(default_factory=SymmetricMechanisms)
    skf: Optional[SkfLibraries] = None

    def module_candidates(self, platform: Optional[str] = None) -> Tuple[str, ...]:
        os_key = _os_key(platform or sys.platform)
        return tuple(expand_module_path(p, os_key) for p in self.modules.get(os_key, ()))

    def matches_manufacturer(self, manufacturer: str) -> bool:
        low = manufacturer.lower()
        return any(m.lower() in low for m in self.manufacturers)

    def matches_atr(self, atr: bytes) -> bool:
        return any(p.matches(atr) for p in self.atrs)


def expand_module_path(path: str, os_key: str) -> str:
    """Environment variables (Windows: ``%SystemRoot%``, ``%ProgramFiles%``); on Windows a bare DLL name
    is looked up in System32, where vendor installers put their PKCS#11 modules."""
    path = os.path.expandvars(path)
    if os_key == "windows" and not ntpath.isabs(path) and ntpath.basename(path) == path:
        path = ntpath.join(os.environ.get("SYSTEMROOT", r"C:\Windows"), "System32", path)
    return path


def _os_key(platform: str) -> str:
    if platform.startswith("win"):
        return "windows"
    if platform == "darwin":
        return "darwin"
    return "linux"


def _parse_profile(raw: Dict[str, Any], source: str) -> TokenProfile:
    match = raw.get("match") or {}
    pin = raw.get("pin")
    sm2 = raw.get("sm2")
    return TokenProfile(
        id=str(raw["id"]),
        vendor=str(raw.get("vendor", raw["id"])),
        manufacturers=tuple(match.get("manufacturer") or ()),
        atrs=tuple(AtrPattern.parse(a) for a in match.get("atr") or ()),
        modules={k: tuple(v) for k, v in (raw.get("modules") or {}).items()},
        pin_policy=_parse_pin(pin),
        sm2=(
            Sm2Mechanisms(
                key_type=_int(sm2["key_type"]),
                keygen=_int(sm2["keygen"]),
                sign_message_default_id=(
                    _int(sm2["sign_message_default_id"]) if sm2.get("sign_message_default_id") else None
                ),
                sign_digest=_int(sm2["sign_digest"]) if sm2.get("sign_digest") else None,
                decrypt=_int(sm2["decrypt"]) if sm2.get("decrypt") else None,
                signature_format=SignatureEncoding(str(sm2.get("signature_format", "der"))),
            )
            if sm2
            else None
        ),
        source=source,
        iso7816=_parse_iso7816(raw.get("iso7816")),
        mechanisms=_parse_symmetric(raw.get("mechanisms")),
        skf=_parse_skf(raw.get("skf")),
    )


def _parse_pin(raw: Optional[Dict[str, Any]]) -> Optional[PinPolicy]:
    """``{"min_length": 6, "max_length": 16, "defaults": ["12345678"]}`` (bounds default to the app's 6-20)."""
    if not raw:
        return None
    defaults = raw.get("defaults") or []
    if not isinstance(defaults, list) or not all(isinstance(d, str) and d for d in defaults):
        raise ValueError("pin.defaults must be a list of PINs")
    base = PinPolicy()
    return PinPolicy(
        int(raw.get("min_length", base.min_length)), int(raw.get("max_length", base.max_length)), tuple(defaults)
    )


def _parse_symmetric(raw: Optional[Dict[str, Any]]) -> SymmetricMechanisms:
    """``{"sm3": "0x80009001", ...}``; an unknown name is an error, not silently ignored."""
    known = {f.name for f in dataclasses.fields(SymmetricMechanisms)}
    unknown = sorted(set(raw or {}) - known)
    if unknown:
        raise ValueError(f"unknown mechanism name(s) {unknown}; known: {sorted(known)}")
    return SymmetricMechanisms(**{str(k): _int(v) for k, v in (raw or {}).items()})


def _parse_skf(raw: Optional[Dict[str, Any]]) -> Optional[SkfLibraries]:
    if not raw:
        return None
    sgd = str(raw.get("sgd", "gmt0016"))
    if sgd not in ("gmt0016", "gmt0006"):
        raise ValueError(f"skf.sgd must be gmt0016 or gmt0006, not {sgd!r}")
    optional = {k: (str(raw[k]) if raw.get(k) is not None else None) for k in _SKF_OPTIONAL}
    return SkfLibraries(
        libraries={str(k): tuple(str(x) for x in v) for k, v in (raw.get("libraries") or {}).items()},
        sgd=sgd,
        reference=str(raw.get("reference", "")),
        **optional,
    )


_SKF_OPTIONAL = ("calling_convention", "application", "admin_pin_default", "ecc_decrypt", "encoding")


def _parse_iso7816(raw: Optional[Dict[str, Any]]) -> Optional[Iso7816Pin]:
    if not raw:
        return None
    return Iso7816Pin(
        aid=bytes.fromhex(str(raw.get("aid", "")).replace(" ", "")),
        pin_ref=_int(raw["pin_ref"]),
        puk_ref=_int(raw["puk_ref"]) if raw.get("puk_ref") is not None else None,
        pad_length=int(raw.get("pad_length", 20)),
        pad_byte=_int(raw.get("pad_byte", "0xFF")),
        max_retries=int(raw["max_retries"]) if raw.get("max_retries") is not None else None,
    )


class ProfileError(ValueError):
    pass


def load_profile_file(path: Path) -> List[TokenProfile]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [_parse_profile(p, str(path)) for p in data["profiles"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProfileError(f"token profile file {path} is invalid: {exc}") from exc


class ProfileSet:
    def __init__(self, profiles: Iterable[TokenProfile]) -> None:
        by_id: Dict[str, TokenProfile] = {}
        for profile in profiles:
            by_id[profile.id] = profile  # later files (user profiles) replace built-ins
        self.profiles: List[TokenProfile] = list(by_id.values())

    @classmethod
    def load(cls, user_dir: Optional[Path] = None) -> ProfileSet:
        files = []
        for default in (BUILTIN_FILE, BUILTIN_SKF_FILE):
            builtin = _frozen_resources(default.name)
            files.append(builtin if builtin is not None and builtin.exists() else default)
        if user_dir is not None and user_dir.is_dir():
            files.extend(sorted(user_dir.glob("*.json")))
        profiles: List[TokenProfile] = []
        for path in files:
            profiles.extend(load_profile_file(path))
        return cls(profiles)

    def for_manufacturer(self, manufacturer: str) -> Optional[TokenProfile]:
        return next((p for p in self.profiles if p.matches_manufacturer(manufacturer)), None)

    def for_atr(self, atr: bytes) -> Optional[TokenProfile]:
        return next((p for p in self.profiles if p.matches_atr(atr)), None)

    def module_candidates(self, platform: Optional[str] = None) -> List[Tuple[TokenProfile, str]]:
        return [(p, m) for p in self.profiles for m in p.module_candidates(platform)]

    def skf_candidates(self, platform: Optional[str] = None) -> List[Tuple[TokenProfile, str]]:
        """Every SKF library name or path the profiles list for this OS (existing or not)."""
        return [(p, m) for p in self.profiles if p.skf for m in p.skf.library_candidates(platform)]
