"""The SKF declarations (drivers/skf/api.py): fixed layouts, the SAR table, the SGD families."""

from __future__ import annotations

import ctypes

import pytest

from drivers.errors import (
    AlreadyExists,
    DeviceError,
    DeviceRemoved,
    NotFound,
    NotLoggedIn,
    NotSupported,
    PinIncorrect,
    PinLengthInvalid,
    PinLocked,
)
from drivers.model import PinPolicy
from drivers.skf import api
from drivers.skf.errors import Context, map_error, table_codes
from gm import skf as blobs


def offsets(structure: type) -> dict:
    return {name: getattr(structure, name).offset for name, *_ in structure._fields_}


def test_basic_types_are_32_bit_everywhere() -> None:
    assert ctypes.sizeof(api.ULONG) == ctypes.sizeof(api.BOOL) == ctypes.sizeof(api.DWORD) == 4
    assert ctypes.sizeof(api.HANDLE) == ctypes.sizeof(ctypes.c_void_p)


def test_devinfo_layout() -> None:
    assert ctypes.sizeof(api.DEVINFO) == 294
    assert offsets(api.DEVINFO) == {
        "Version": 0,
        "Manufacturer": 2,
        "Issuer": 66,
        "Label": 130,
        "SerialNumber": 162,
        "HWVersion": 194,
        "FirmwareVersion": 196,
        "AlgSymCap": 198,
        "AlgAsymCap": 202,
        "AlgHashCap": 206,
        "DevAuthAlgId": 210,
        "TotalSpace": 214,
        "FreeSpace": 218,
        "MaxECCBufferSize": 222,
        "MaxBufferSize": 226,
        "Reserved": 230,
    }


def test_blob_layouts_match_the_bytes_gm_builds() -> None:
    assert ctypes.sizeof(api.ECCPUBLICKEYBLOB) == blobs.EccPublicKeyBlob.SIZE == 132
    assert ctypes.sizeof(api.ECCPRIVATEKEYBLOB) == blobs.EccPrivateKeyBlob.SIZE == 68
    assert ctypes.sizeof(api.ECCSIGNATUREBLOB) == blobs.EccSignatureBlob.SIZE == 128
    assert offsets(api.ECCCIPHERBLOB) == {
        "XCoordinate": 0,
        "YCoordinate": 64,
        "HASH": 128,
        "CipherLen": 160,
        "Cipher": 164,
    }
    assert api.CIPHER_HEADER_SIZE == blobs.EccCipherBlob.HEADER == 164
    assert offsets(api.ENVELOPEDKEYBLOB) == {
        "Version": 0,
        "ulSymmAlgID": 4,
        "ulBits": 8,
        "cbEncryptedPriKey": 12,
        "PubKey": 76,
        "ECCCipherBlob": 208,
    }
    assert ctypes.sizeof(api.ENVELOPEDKEYBLOB) == 208 + 165  # Cipher[1] as the standard declares it


def test_a_public_key_blob_reads_back_through_ctypes() -> None:
    point = bytes([4]) + bytes(range(1, 33)) + bytes(range(33, 65))
    data = blobs.EccPublicKeyBlob.from_point(point).to_bytes()
    blob = api.ECCPUBLICKEYBLOB.from_buffer_copy(data)
    assert (
        blob.BitLen == 256
        and bytes(blob.XCoordinate)[32:] == point[1:33]
        and bytes(blob.YCoordinate)[32:] == point[33:]
    )


def test_every_sar_code_has_a_table_entry() -> None:
    table = table_codes()
    missing = [code.name for code in (*api.Sar, *api.VendorSar) if code != api.Sar.SAR_OK and code not in table]
    assert missing == []
    assert api.sar_name(0x0A000024) == "SAR_PIN_INCORRECT" and api.sar_name(0x12345678) == "0x12345678"


@pytest.mark.parametrize(
    ("code", "context", "expected"),
    [
        (api.Sar.SAR_PIN_INCORRECT, Context(retries=3), PinIncorrect),
        (api.Sar.SAR_PIN_INCORRECT, Context(retries=0), PinLocked),  # the try that locked it
        (api.Sar.SAR_PIN_LOCKED, Context(), PinLocked),
        (api.Sar.SAR_PIN_LEN_RANGE, Context(), PinLengthInvalid),
        (api.Sar.SAR_PIN_INVALID, Context(), PinLengthInvalid),
        (api.Sar.SAR_USER_NOT_LOGGED_IN, Context(), NotLoggedIn),
        (api.Sar.SAR_DEVICE_REMOVED, Context(), DeviceRemoved),
        (api.Sar.SAR_NOTSUPPORTYETERR, Context(), NotSupported),
        (api.Sar.SAR_KEYNOTFOUNTERR, Context(), NotFound),
        (api.Sar.SAR_CERTNOTFOUNTERR, Context(), NotFound),
        (api.Sar.SAR_FILE_NOT_EXIST, Context(), NotFound),
        (api.Sar.SAR_APPLICATION_NOT_EXISTS, Context(), NotFound),
        (api.Sar.SAR_FILE_ALREADY_EXIST, Context(), AlreadyExists),
        (api.VendorSar.SAR_CONTAINER_EXIST, Context(), AlreadyExists),
        (api.Sar.SAR_NO_ROOM, Context(), DeviceError),
        (0x7FFFFFFF, Context(), DeviceError),
    ],
)
def test_sar_codes_become_typed_errors_with_the_raw_code(code: int, context: Context, expected: type) -> None:
    error = map_error(code, context)
    assert type(error) is expected
    assert error.raw_code == code


def test_pin_errors_carry_tries_admin_flag_and_bounds() -> None:
    error = map_error(api.Sar.SAR_PIN_INCORRECT, Context(admin=True, retries=4))
    assert isinstance(error, PinIncorrect) and error.retries_left == 4 and error.admin
    assert error.raw_code_text == "0x0A000024"
    length = map_error(api.Sar.SAR_PIN_LEN_RANGE, Context(policy=PinPolicy(6, 16)))
    assert isinstance(length, PinLengthInvalid) and (length.min_length, length.max_length) == (6, 16)
    removed = map_error(api.Sar.SAR_DEVICE_REMOVED)
    assert "insert it again" in str(removed)


def test_sgd_families() -> None:
    standard, gmt0006 = api.SGD_FAMILIES["gmt0016"], api.SGD_FAMILIES["gmt0006"]
    assert (standard.sm2_1, standard.sm2_3) == (0x00020100, 0x00020400)
    assert (gmt0006.sm2_1, gmt0006.sm2_3) == (0x00020200, 0x00020800)
    assert api.offers_sm2(0x00020500) and api.offers_sm2(0x00020A00) and not api.offers_sm2(0x00010000)
    assert api.guess_family(0x00020500) is standard and api.guess_family(0x00020F00) is gmt0006


def test_multi_string_lists() -> None:
    assert api.multi_string(b"a\0bc\0\0") == [b"a", b"bc"]
    assert api.multi_string(b"\0\0") == [] == api.multi_string(b"")
    assert api.multi_string(b"one\0\0garbage after the end\0") == [b"one"]
