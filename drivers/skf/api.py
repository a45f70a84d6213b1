"""The GM/T 0016-2012 (SKF) C interface, declared for ctypes: types, structures, SAR codes, SGD identifiers and
the prototypes of the functions the driver calls.

Facts that bite, checked against public vendor headers (Hebca's skfapi.h, the GmSSL and Tongsuo SKF headers):
- ULONG, DWORD and BOOL are 32-bit on every platform (a 64-bit ``unsigned long`` would be wrong on Linux);
  handles are pointers.
- Every structure is ``#pragma pack(1)`` (some headers leave ECCCIPHERBLOB at natural alignment: its field
  offsets are the same, only ``sizeof`` differs, and the driver never relies on it).
- Coordinates and scalars live in 64-byte fields (ECC_MAX_*_BITS_LEN / 8), a 256-bit value right-aligned.
- ECCCIPHERBLOB is X, Y, HASH (C3), CipherLen, Cipher (C2): the blob bytes are built by :mod:`gm.skf`.
- ``SGD_SM2_*`` differ between header families (:class:`SgdFamily`); the vendor's profile says which.
- Windows libraries use ``__stdcall`` (the ``DEVAPI`` macro); a few are ``__cdecl``.
"""

from __future__ import annotations

import ctypes
import enum
from ctypes import POINTER, c_char_p, c_int32, c_uint8, c_uint32, c_void_p
from dataclasses import dataclass
from typing import Any, Dict, List, Tuple

ULONG = c_uint32
DWORD = c_uint32
BOOL = c_int32
BYTE = c_uint8
HANDLE = c_void_p
LPSTR = c_char_p
FIELD = 64  # ECC_MAX_XCOORDINATE_BITS_LEN / 8

ADMIN_TYPE = 0
USER_TYPE = 1
DEV_ABSENT_STATE = 0
DEV_PRESENT_STATE = 1
CONTAINER_TYPE_EMPTY = 0
CONTAINER_TYPE_RSA = 1
CONTAINER_TYPE_ECC = 2
DEV_EVENT_INSERTED = 1
DEV_EVENT_REMOVED = 2


class VERSION(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("major", BYTE), ("minor", BYTE))


class DEVINFO(ctypes.Structure):
    """294 bytes. Some vendors' headers differ after FreeSpace, so callers pass a larger buffer."""

    _pack_ = 1
    _fields_ = (
        ("Version", VERSION),
        ("Manufacturer", ctypes.c_char * 64),
        ("Issuer", ctypes.c_char * 64),
        ("Label", ctypes.c_char * 32),
        ("SerialNumber", ctypes.c_char * 32),
        ("HWVersion", VERSION),
        ("FirmwareVersion", VERSION),
        ("AlgSymCap", ULONG),
        ("AlgAsymCap", ULONG),
        ("AlgHashCap", ULONG),
        ("DevAuthAlgId", ULONG),
        ("TotalSpace", ULONG),
        ("FreeSpace", ULONG),
        ("MaxECCBufferSize", ULONG),
        ("MaxBufferSize", ULONG),
        ("Reserved", BYTE * 64),
    )


class ECCPUBLICKEYBLOB(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("BitLen", ULONG), ("XCoordinate", BYTE * FIELD), ("YCoordinate", BYTE * FIELD))


class ECCPRIVATEKEYBLOB(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("BitLen", ULONG), ("PrivateKey", BYTE * FIELD))


class ECCSIGNATUREBLOB(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("r", BYTE * FIELD), ("s", BYTE * FIELD))


class ECCCIPHERBLOB(ctypes.Structure):
    """The standard's declaration (``Cipher[1]``); the real blob has CipherLen bytes of Cipher."""

    _pack_ = 1
    _fields_ = (
        ("XCoordinate", BYTE * FIELD),
        ("YCoordinate", BYTE * FIELD),
        ("HASH", BYTE * 32),
        ("CipherLen", ULONG),
        ("Cipher", BYTE * 1),
    )


class ENVELOPEDKEYBLOB(ctypes.Structure):
    _pack_ = 1
    _fields_ = (
        ("Version", ULONG),
        ("ulSymmAlgID", ULONG),
        ("ulBits", ULONG),
        ("cbEncryptedPriKey", BYTE * FIELD),
        ("PubKey", ECCPUBLICKEYBLOB),
        ("ECCCipherBlob", ECCCIPHERBLOB),
    )


CIPHER_HEADER_SIZE = ECCCIPHERBLOB.Cipher.offset  # 164: X, Y, HASH, CipherLen


class Sar(enum.IntEnum):
    """GM/T 0016-2012 Appendix A."""

    SAR_OK = 0x00000000
    SAR_FAIL = 0x0A000001
    SAR_UNKNOWNERR = 0x0A000002
    SAR_NOTSUPPORTYETERR = 0x0A000003
    SAR_FILEERR = 0x0A000004
    SAR_INVALIDHANDLEERR = 0x0A000005
    SAR_INVALIDPARAMERR = 0x0A000006
    SAR_READFILEERR = 0x0A000007
    SAR_WRITEFILEERR = 0x0A000008
    SAR_NAMELENERR = 0x0A000009
    SAR_KEYUSAGEERR = 0x0A00000A
    SAR_MODULUSLENERR = 0x0A00000B
    SAR_NOTINITIALIZEERR = 0x0A00000C
    SAR_OBJERR = 0x0A00000D
    SAR_MEMORYERR = 0x0A00000E
    SAR_TIMEOUTERR = 0x0A00000F
    SAR_INDATALENERR = 0x0A000010
    SAR_INDATAERR = 0x0A000011
    SAR_GENRANDERR = 0x0A000012
    SAR_HASHOBJERR = 0x0A000013
    SAR_HASHERR = 0x0A000014
    SAR_GENRSAKEYERR = 0x0A000015
    SAR_RSAMODULUSLENERR = 0x0A000016
    SAR_CSPIMPRTPUBKEYERR = 0x0A000017
    SAR_RSAENCERR = 0x0A000018
    SAR_RSADECERR = 0x0A000019
    SAR_HASHNOTEQUALERR = 0x0A00001A
    SAR_KEYNOTFOUNTERR = 0x0A00001B
    SAR_CERTNOTFOUNTERR = 0x0A00001C
    SAR_NOTEXPORTERR = 0x0A00001D
    SAR_DECRYPTPADERR = 0x0A00001E
    SAR_MACLENERR = 0x0A00001F
    SAR_BUFFER_TOO_SMALL = 0x0A000020
    SAR_KEYINFOTYPEERR = 0x0A000021
    SAR_NOT_EVENTERR = 0x0A000022
    SAR_DEVICE_REMOVED = 0x0A000023
    SAR_PIN_INCORRECT = 0x0A000024
    SAR_PIN_LOCKED = 0x0A000025
    SAR_PIN_INVALID = 0x0A000026
    SAR_PIN_LEN_RANGE = 0x0A000027
    SAR_USER_ALREADY_LOGGED_IN = 0x0A000028
    SAR_USER_PIN_NOT_INITIALIZED = 0x0A000029
    SAR_USER_TYPE_INVALID = 0x0A00002A
    SAR_APPLICATION_NAME_INVALID = 0x0A00002B
    SAR_APPLICATION_EXISTS = 0x0A00002C
    SAR_USER_NOT_LOGGED_IN = 0x0A00002D
    SAR_APPLICATION_NOT_EXISTS = 0x0A00002E
    SAR_FILE_ALREADY_EXIST = 0x0A00002F
    SAR_NO_ROOM = 0x0A000030
    SAR_FILE_NOT_EXIST = 0x0A000031
    SAR_REACH_MAX_CONTAINER_COUNT = 0x0A000032


class VendorSar(enum.IntEnum):
    """Codes past Appendix A seen in the Hebca-family skfapi.h (0x0B range, so they collide with no standard code)."""

    SAR_SECURITY_INVALID = 0x0B000033
    SAR_OFFSET_VOER_FILE = 0x0B000034
    SAR_CONTAINER_NOT_FOUND = 0x0B000035
    SAR_CONTAINER_EXIST = 0x0B000036
    SAR_AUTH_LOCKED = 0x0B000037
    SAR_ECCENCERR = 0x0B000038


SGD_SM1_ECB = 0x00000101
SGD_SM4_ECB = 0x00000401
SGD_SM4_CBC = 0x00000402
SGD_SM3 = 0x00000001
SGD_SHA1 = 0x00000002
SGD_SHA256 = 0x00000004
SGD_RSA = 0x00010000
SM2_FAMILY_BIT = 0x00020000  # every SGD_SM2* value, in either family, has this bit
SM4_BIT = 0x00000400


@dataclass(frozen=True)
class SgdFamily:
    """SM2 algorithm identifiers of one header family."""

    name: str
    sm2_1: int  # signature (the ulAlgId of SKF_GenECCKeyPair)
    sm2_2: int  # key exchange
    sm2_3: int  # encryption


SGD_FAMILIES: Dict[str, SgdFamily] = {
    # GM/T 0016-2012's own appendix; most SKF headers (Hebca, GmSSL, Tongsuo, Longmai samples).
    "gmt0016": SgdFamily("gmt0016", sm2_1=0x00020100, sm2_2=0x00020200, sm2_3=0x00020400),
    # GM/T 0006 / GM/T 0018 numbering (0x00020100 is SGD_SM2 itself), used by some vendors' SKF headers.
    "gmt0006": SgdFamily("gmt0006", sm2_1=0x00020200, sm2_2=0x00020400, sm2_3=0x00020800),
}


def offers_sm2(asym_cap: int) -> bool:
    """AlgAsymCap names some SM2 algorithm (in either family)."""
    return bool(asym_cap & SM2_FAMILY_BIT) and bool(asym_cap & 0x00000F00)


def guess_family(asym_cap: int) -> SgdFamily:
    """Without a profile: 0x00020800 exists only in the GM/T 0006 numbering."""
    return SGD_FAMILIES["gmt0006" if asym_cap & 0x00000800 else "gmt0016"]


_H = HANDLE
_PU = POINTER(ULONG)
_PB = c_char_p  # BYTE*: bytes in, create_string_buffer out
_PH = POINTER(HANDLE)

# name -> argtypes; every function returns ULONG. Functions outside the 2012 core set are marked below.
PROTOTYPES: Dict[str, Tuple[Any, ...]] = {
    "SKF_WaitForDevEvent": (LPSTR, _PU, _PU),
    "SKF_CancelWaitForDevEvent": (),
    "SKF_EnumDev": (BOOL, LPSTR, _PU),
    "SKF_ConnectDev": (LPSTR, _PH),
    "SKF_DisConnectDev": (_H,),
    "SKF_GetDevState": (LPSTR, _PU),
    "SKF_SetLabel": (_H, LPSTR),
    "SKF_GetDevInfo": (_H, c_void_p),  # DEVINFO*, passed as a larger buffer
    "SKF_ChangePIN": (_H, ULONG, LPSTR, LPSTR, _PU),
    "SKF_GetPINInfo": (_H, ULONG, _PU, _PU, POINTER(BOOL)),
    "SKF_VerifyPIN": (_H, ULONG, LPSTR, _PU),
    "SKF_UnblockPIN": (_H, LPSTR, LPSTR, _PU),
    "SKF_ClearSecureState": (_H,),
    "SKF_EnumApplication": (_H, LPSTR, _PU),
    "SKF_OpenApplication": (_H, LPSTR, _PH),
    "SKF_CloseApplication": (_H,),
    "SKF_CreateContainer": (_H, LPSTR, _PH),
    "SKF_DeleteContainer": (_H, LPSTR),
    "SKF_OpenContainer": (_H, LPSTR, _PH),
    "SKF_CloseContainer": (_H,),
    "SKF_EnumContainer": (_H, LPSTR, _PU),
    "SKF_GetContainerType": (_H, _PU),
    "SKF_ImportCertificate": (_H, BOOL, _PB, ULONG),
    "SKF_ExportCertificate": (_H, BOOL, _PB, _PU),
    "SKF_GenRandom": (_H, _PB, ULONG),
    "SKF_GenECCKeyPair": (_H, ULONG, POINTER(ECCPUBLICKEYBLOB)),
    "SKF_ImportECCKeyPair": (_H, c_void_p),  # ENVELOPEDKEYBLOB*, variable length (bytes from gm.skf)
    "SKF_ECCSignData": (_H, _PB, ULONG, POINTER(ECCSIGNATUREBLOB)),
    "SKF_ExportPublicKey": (_H, BOOL, _PB, _PU),
    # Not in GM/T 0016-2012: vendors' private-key decryption. Its arguments differ between vendors,
    # so it is bound without argtypes and called per the profile's "ecc_decrypt" form (drivers.skf.keys).
    "SKF_ECCDecrypt": (),
}

# Without these a library is useless to the driver; every other function is optional (a capability).
REQUIRED = ("SKF_EnumDev", "SKF_ConnectDev", "SKF_DisConnectDev", "SKF_GetDevInfo")
# Bound without argtypes (vendor-specific signatures).
UNTYPED = ("SKF_ECCDecrypt",)


def sar_name(code: int) -> str:
    for table in (Sar, VendorSar):
        try:
            return table(code).name
        except ValueError:
            continue
    return f"0x{code:08X}"


def multi_string(data: bytes) -> List[bytes]:
    """A "name\\0name\\0\\0" list (GM/T 0016 EnumDev / EnumApplication / EnumContainer)."""
    names: List[bytes] = []
    for item in data.split(b"\0"):
        if not item:
            break
        names.append(item)
    return names
