"""What SKF_GetDevInfo says about a device, and the capabilities the driver derives from it."""

from __future__ import annotations

import ctypes
import sys
from ctypes import byref, create_string_buffer
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Optional, Set

from drivers.model import Capability
from drivers.profiles import TokenProfile
from drivers.skf.api import (
    DEVINFO,
    HANDLE,
    SGD_FAMILIES,
    SGD_SM3,
    SM4_BIT,
    SgdFamily,
    guess_family,
    offers_sm2,
)
from drivers.skf.library import SkfLibrary

DEVINFO_BUFFER = 1024  # vendors whose DEVINFO is longer than the standard's 294 bytes write into the slack


def decode(raw: bytes, encoding: str) -> str:
    """A fixed-size C string field: up to the first NUL, in the library's encoding (never fails)."""
    text = raw.split(b"\0", 1)[0]
    for candidate in (encoding, "utf-8", "gb18030"):
        try:
            return text.decode(candidate).strip()
        except (UnicodeDecodeError, LookupError):
            continue
    return text.decode("latin-1").strip()


def default_encoding(profile: Optional[TokenProfile], platform: Optional[str] = None) -> str:
    if profile is not None and profile.skf is not None and profile.skf.encoding:
        return profile.skf.encoding
    return "gbk" if (platform or sys.platform).startswith("win") else "utf-8"


@dataclass(frozen=True)
class SkfDeviceInfo:
    """SKF_GetDevInfo of one device (standard DEVINFO fields, strings decoded)."""

    name: str
    raw_name: bytes
    label: str
    serial: str
    manufacturer: str
    issuer: str
    version: str  # of the DEVINFO structure
    hw_version: str
    firmware_version: str
    alg_sym_cap: int
    alg_asym_cap: int
    alg_hash_cap: int
    max_ecc_buffer: int
    total_space: int
    free_space: int

    @property
    def sm2(self) -> bool:
        return offers_sm2(self.alg_asym_cap)

    @property
    def sm3(self) -> bool:
        return bool(self.alg_hash_cap & SGD_SM3)

    @property
    def sm4(self) -> bool:
        return bool(self.alg_sym_cap & SM4_BIT)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "serial": self.serial,
            "manufacturer": self.manufacturer,
            "issuer": self.issuer,
            "version": self.version,
            "hw_version": self.hw_version,
            "firmware_version": self.firmware_version,
            "alg_sym_cap": f"0x{self.alg_sym_cap:08X}",
            "alg_asym_cap": f"0x{self.alg_asym_cap:08X}",
            "alg_hash_cap": f"0x{self.alg_hash_cap:08X}",
            "sm2": self.sm2,
            "sm3": self.sm3,
            "sm4": self.sm4,
        }


def _version(v: Any) -> str:
    return f"{v.major}.{v.minor}"


def read_device_info(library: SkfLibrary, raw_name: bytes, encoding: str) -> SkfDeviceInfo:
    """Connect, read DEVINFO, disconnect."""
    with library.lock:
        handle = HANDLE()
        library.check("SKF_ConnectDev", raw_name, byref(handle))
        try:
            buffer = create_string_buffer(DEVINFO_BUFFER)
            library.check("SKF_GetDevInfo", handle, buffer)
        finally:
            library.call("SKF_DisConnectDev", handle)
    info = DEVINFO.from_buffer_copy(buffer.raw[: ctypes.sizeof(DEVINFO)])
    name = decode(raw_name, encoding)
    return SkfDeviceInfo(
        name=name,
        raw_name=raw_name,
        label=decode(bytes(info.Label), encoding),
        serial=decode(bytes(info.SerialNumber), encoding),
        manufacturer=decode(bytes(info.Manufacturer), encoding),
        issuer=decode(bytes(info.Issuer), encoding),
        version=_version(info.Version),
        hw_version=_version(info.HWVersion),
        firmware_version=_version(info.FirmwareVersion),
        alg_sym_cap=int(info.AlgSymCap),
        alg_asym_cap=int(info.AlgAsymCap),
        alg_hash_cap=int(info.AlgHashCap),
        max_ecc_buffer=int(info.MaxECCBufferSize),
        total_space=int(info.TotalSpace),
        free_space=int(info.FreeSpace),
    )


def sgd_family(profile: Optional[TokenProfile], info: SkfDeviceInfo) -> SgdFamily:
    if profile is not None and profile.skf is not None:
        return SGD_FAMILIES[profile.skf.sgd]
    return guess_family(info.alg_asym_cap)


def decrypt_form(profile: Optional[TokenProfile]) -> Optional[str]:
    return profile.skf.ecc_decrypt if profile is not None and profile.skf is not None else None


def capabilities(library: SkfLibrary, info: SkfDeviceInfo, profile: Optional[TokenProfile]) -> FrozenSet[Capability]:
    has = library.has
    caps: Set[Capability] = set()
    if has("SKF_ChangePIN"):
        caps.update((Capability.PIN_CHANGE, Capability.ADMIN_ROTATE))
    if has("SKF_UnblockPIN"):
        caps.add(Capability.PIN_UNBLOCK)
    if has("SKF_GetPINInfo"):
        caps.add(Capability.PIN_RETRY_INFO)
    if info.sm3:
        caps.add(Capability.SM3)
    if info.sm4:
        caps.add(Capability.SM4)
    if info.sm2:
        if has("SKF_GenECCKeyPair") and has("SKF_ExportPublicKey"):
            caps.add(Capability.SM2_KEYGEN)
        if has("SKF_ECCSignData") and has("SKF_ExportPublicKey"):
            # The host computes Z and e = SM3(Z || M); the key signs e. Any signer ID works.
            caps.update((Capability.SM2_SIGN, Capability.SM2_SIGN_DIGEST))
        if has("SKF_ImportECCKeyPair"):
            caps.add(Capability.SM2_IMPORT_ENVELOPED)
        if has("SKF_ECCDecrypt") and decrypt_form(profile) is not None:
            caps.add(Capability.SM2_DECRYPT)
    return frozenset(caps)
