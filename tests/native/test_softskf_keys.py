"""The soft SKF library's own tests, part 2: containers, SM2 keys, the enveloped key import, certificates,
decryption, and input that must be refused (lengths, foreign envelopes, garbage)."""

from __future__ import annotations

import ctypes
import struct
from ctypes import byref, create_string_buffer
from typing import Any, Tuple

import pytest

from drivers.skf.api import ECCPUBLICKEYBLOB, ENVELOPEDKEYBLOB, HANDLE, ULONG, Sar
from gm import skf as blobs
from gm import sm4
from gm.envelope import envelope_key
from gm.sm2 import CiphertextFormat, SignatureFormat, SM2Ciphertext, SM2PrivateKey, SM2PublicKey
from gm.x509 import build_certificate
from tests.native.raw import OK, Raw
from tests.pki import make_pki
from tests.softskf import SoftSkf, fresh_copy

pytestmark = pytest.mark.integration


@pytest.fixture()
def raw(softskf: SoftSkf) -> Raw:
    return Raw(str(softskf.library))


@pytest.fixture()
def keyed(raw: Raw) -> Tuple[HANDLE, HANDLE, SM2PublicKey]:
    """A logged-in application and a container with a signing key."""
    _dev, app = raw.logged_in_app()
    con = raw.container(app, "持有人")
    blob = raw.keygen(con)
    return app, con, SM2PublicKey.from_raw(blobs.EccPublicKeyBlob.from_bytes(bytes(blob)).to_point())


def test_containers_create_enum_open_delete(raw: Raw) -> None:
    dev, app = raw.logged_in_app()
    assert raw.names("SKF_EnumContainer", app) == []
    for name in ("a", "张三-2024", "x" * 64):
        raw.container(app, name)
    assert raw.names("SKF_EnumContainer", app) == ["a", "张三-2024", "x" * 64]
    assert raw("SKF_CreateContainer", app, b"a", byref(HANDLE())) == Sar.SAR_FILE_ALREADY_EXIST
    assert raw("SKF_CreateContainer", app, b"y" * 65, byref(HANDLE())) == Sar.SAR_NAMELENERR
    assert raw("SKF_CreateContainer", app, b"", byref(HANDLE())) == Sar.SAR_NAMELENERR
    con = raw.container(app, "a", create=False)
    kind = ULONG(9)
    raw.ok("SKF_GetContainerType", con, byref(kind))
    assert kind.value == 0
    raw.ok("SKF_DeleteContainer", app, b"a")
    assert raw("SKF_GetContainerType", con, byref(kind)) == Sar.SAR_FILE_NOT_EXIST  # its handle sees it gone
    assert raw("SKF_OpenContainer", app, b"a", byref(HANDLE())) == Sar.SAR_FILE_NOT_EXIST
    assert raw("SKF_DeleteContainer", app, b"a") == Sar.SAR_FILE_NOT_EXIST
    for i in range(14):  # 2 + 14 = the 16 a device holds
        raw.container(app, f"c{i}")
    assert raw("SKF_CreateContainer", app, b"one-too-many", byref(HANDLE())) == Sar.SAR_REACH_MAX_CONTAINER_COUNT
    raw.ok("SKF_ClearSecureState", app)
    assert raw("SKF_DeleteContainer", app, b"c0") == Sar.SAR_USER_NOT_LOGGED_IN
    del dev


def test_keygen_sign_and_export(raw: Raw, keyed: Tuple[HANDLE, HANDLE, SM2PublicKey]) -> None:
    app, con, public = keyed
    kind = ULONG(0)
    raw.ok("SKF_GetContainerType", con, byref(kind))
    assert kind.value == 2
    exported = raw.public(con)
    assert len(exported) == 132 and exported[:4] == struct.pack("<I", 256)
    assert exported[4:36] == bytes(32) and exported[68:100] == bytes(32)  # 256-bit values right-aligned
    assert SM2PublicKey.from_raw(blobs.EccPublicKeyBlob.from_bytes(exported).to_point()) == public
    small = ULONG(131)
    assert raw("SKF_ExportPublicKey", con, 1, create_string_buffer(131), byref(small)) == Sar.SAR_BUFFER_TOO_SMALL
    assert small.value == 132
    assert raw("SKF_ExportPublicKey", con, 0, None, byref(small)) == Sar.SAR_KEYNOTFOUNTERR  # no encryption key yet
    digest = public.message_digest(b"message", b"1234567812345678")
    signature = raw.sign(con, digest)
    raw_signature = blobs.EccSignatureBlob.from_bytes(bytes(signature)).to_raw()
    public.verify(raw_signature, b"message", fmt=SignatureFormat.RAW)
    assert raw("SKF_ECCSignData", con, digest[:31], 31, byref(signature)) == Sar.SAR_INDATALENERR
    assert raw("SKF_ECCSignData", con, digest, 32, None) == Sar.SAR_INVALIDPARAMERR
    assert raw("SKF_GenECCKeyPair", con, 0x00010000, byref(ECCPUBLICKEYBLOB())) == Sar.SAR_NOTSUPPORTYETERR
    raw.ok("SKF_ClearSecureState", app)
    assert raw("SKF_ECCSignData", con, digest, 32, byref(signature)) == Sar.SAR_USER_NOT_LOGGED_IN
    assert raw.public(con) == exported  # reading the public key needs no PIN


def test_gmt0006_numbering_when_asked(monkeypatch: pytest.MonkeyPatch, raw: Raw) -> None:
    monkeypatch.setenv("SOFTSKF_SGD", "gmt0006")
    _dev, app = raw.logged_in_app()
    con = raw.container(app, "c")
    assert raw("SKF_GenECCKeyPair", con, 0x00020100, byref(ECCPUBLICKEYBLOB())) == Sar.SAR_NOTSUPPORTYETERR
    raw.keygen(con, 0x00020200)
    info = create_string_buffer(400)
    raw.ok("SKF_GetDevInfo", raw.connect(), info)
    assert struct.unpack_from("<I", info.raw, 202)[0] == 0x00020A00  # AlgAsymCap: SM2_1 | SM2_3 of GM/T 0006


def envelope_bytes(recipient: SM2PublicKey, key: SM2PrivateKey) -> bytes:
    return envelope_key(key, recipient).to_skf_blob()


def import_blob(raw: Raw, con: HANDLE, data: bytes) -> int:
    return raw("SKF_ImportECCKeyPair", con, create_string_buffer(data, len(data)))


def test_import_enveloped_key_then_decrypt(raw: Raw, keyed: Tuple[HANDLE, HANDLE, SM2PublicKey]) -> None:
    _app, con, public = keyed
    encryption = SM2PrivateKey.generate()
    assert import_blob(raw, con, envelope_bytes(public, encryption)) == OK
    assert raw.public(con, sign=False)[36:68] == encryption.public_key.to_raw()[1:33]
    der = encryption.public_key.encrypt(b"secret for the key")
    parts = SM2Ciphertext.parse(der, CiphertextFormat.DER)
    cipher = blobs.EccCipherBlob(parts.x.to_bytes(32, "big"), parts.y.to_bytes(32, "big"), parts.c3, parts.c2)
    size = ULONG(0)
    blob = create_string_buffer(cipher.to_bytes())
    assert raw("SKF_ECCDecrypt", con, ctypes.c_int32(0), blob, None, byref(size)) == OK and size.value == 18
    out = create_string_buffer(size.value)
    assert raw("SKF_ECCDecrypt", con, ctypes.c_int32(0), blob, out, byref(size)) == OK
    assert out.raw == b"secret for the key"
    tampered = bytearray(cipher.to_bytes())
    tampered[-1] ^= 1
    assert raw("SKF_ECCDecrypt", con, ctypes.c_int32(0), create_string_buffer(bytes(tampered)), out, byref(size)) == (
        Sar.SAR_INDATAERR
    )


def test_import_accepts_the_whole_field_variant(raw: Raw, keyed: Tuple[HANDLE, HANDLE, SM2PublicKey]) -> None:
    """Some producers SM4-encrypt the whole zero-padded 64-byte field instead of the 32-byte scalar."""
    _app, con, public = keyed
    encryption = SM2PrivateKey.generate()
    sym = bytes(range(16))
    field = sm4.ecb_encrypt(sym, bytes(32) + encryption.to_raw())
    cipher = SM2Ciphertext.parse(public.encrypt(sym), CiphertextFormat.DER)
    blob = bytearray(envelope_bytes(public, encryption))
    blob[12:76] = field
    cipher_blob = blobs.EccCipherBlob(cipher.x.to_bytes(32, "big"), cipher.y.to_bytes(32, "big"), cipher.c3, cipher.c2)
    blob[208:] = cipher_blob.to_bytes()
    assert import_blob(raw, con, bytes(blob)) == OK
    assert raw.public(con, sign=False)[36:68] == encryption.public_key.to_raw()[1:33]


def test_import_refuses_foreign_or_malformed_envelopes(raw: Raw, keyed: Tuple[HANDLE, HANDLE, SM2PublicKey]) -> None:
    app, con, public = keyed
    encryption = SM2PrivateKey.generate()
    good = envelope_bytes(public, encryption)
    someone_else = envelope_bytes(SM2PrivateKey.generate().public_key, encryption)
    assert import_blob(raw, con, someone_else) == Sar.SAR_INDATAERR
    wrong_public = bytearray(good)
    wrong_public[76 + 4 + 32 : 76 + 4 + 64] = SM2PrivateKey.generate().public_key.to_raw()[1:33]
    assert import_blob(raw, con, bytes(wrong_public)) == Sar.SAR_INDATAERR
    offset = {f[0]: getattr(ENVELOPEDKEYBLOB, f[0]).offset for f in ENVELOPEDKEYBLOB._fields_}
    cipher_len = offset["ECCCipherBlob"] + 160
    for field_offset, value, code in (
        (offset["Version"], 2, Sar.SAR_INVALIDPARAMERR),
        (offset["ulSymmAlgID"], 0x00000101, Sar.SAR_NOTSUPPORTYETERR),
        (offset["ulBits"], 512, Sar.SAR_INVALIDPARAMERR),
        (cipher_len, 17, Sar.SAR_INDATALENERR),
        (cipher_len, 0xFFFFFFFF, Sar.SAR_INDATALENERR),  # never read past the 16 bytes there are
    ):
        bad = bytearray(good)
        struct.pack_into("<I", bad, field_offset, value)
        assert import_blob(raw, con, bytes(bad)) == code
    assert raw("SKF_ImportECCKeyPair", con, None) == Sar.SAR_INVALIDPARAMERR
    empty = raw.container(app, "empty")
    assert import_blob(raw, empty, good) == Sar.SAR_KEYNOTFOUNTERR
    assert raw("SKF_ExportPublicKey", con, 0, None, byref(ULONG())) == Sar.SAR_KEYNOTFOUNTERR  # nothing half-imported


def test_certificates_two_call_and_validation(raw: Raw, keyed: Tuple[HANDLE, HANDLE, SM2PublicKey]) -> None:
    app, con, public = keyed
    pki = make_pki()
    der = build_certificate(
        subject={"common_name": "持有人"},
        public_key=public,
        issuer=pki.ca,
        issuer_key=pki.ca_key,
        not_after=pki.leaf.not_after,
    ).to_der()
    size = ULONG(0)
    assert raw("SKF_ExportCertificate", con, 1, None, byref(size)) == Sar.SAR_CERTNOTFOUNTERR
    raw.ok("SKF_ImportCertificate", con, 1, der, len(der))
    raw.ok("SKF_ExportCertificate", con, 1, None, byref(size))
    assert size.value == len(der)
    short = ULONG(len(der) - 1)
    assert raw("SKF_ExportCertificate", con, 1, create_string_buffer(len(der)), byref(short)) == (
        Sar.SAR_BUFFER_TOO_SMALL
    )
    out = create_string_buffer(len(der))
    raw.ok("SKF_ExportCertificate", con, 1, out, byref(size))
    assert out.raw == der
    assert raw("SKF_ExportCertificate", con, 0, None, byref(size)) == Sar.SAR_CERTNOTFOUNTERR
    assert raw("SKF_ImportCertificate", con, 0, b"\x30\x03\x02\x01\x01", 5) == Sar.SAR_INDATAERR
    assert raw("SKF_ImportCertificate", con, 0, der + b"x", len(der) + 1) == Sar.SAR_INDATAERR
    assert raw("SKF_ImportCertificate", con, 0, der, 0) == Sar.SAR_INDATALENERR
    assert raw("SKF_ImportCertificate", con, 0, der, 1 << 20) == Sar.SAR_INDATALENERR
    raw.keygen(con)  # a new signing key: the old signing certificate no longer belongs to it
    assert raw("SKF_ExportCertificate", con, 1, None, byref(size)) == Sar.SAR_CERTNOTFOUNTERR
    del app


def test_everything_survives_a_new_process(softskf: SoftSkf, raw: Raw, keyed: Any, tmp_path: Any) -> None:
    _app, con, public = keyed
    encryption = SM2PrivateKey.generate()
    assert import_blob(raw, con, envelope_bytes(public, encryption)) == OK
    other = Raw(str(fresh_copy(softskf.library, tmp_path / "again")))
    _dev, app = other.logged_in_app()
    assert other.names("SKF_EnumContainer", app) == ["持有人"]
    again = other.container(app, "持有人", create=False)
    assert SM2PublicKey.from_raw(blobs.EccPublicKeyBlob.from_bytes(other.public(again)).to_point()) == public
    signature = other.sign(again, public.message_digest(b"m"))
    public.verify(blobs.EccSignatureBlob.from_bytes(bytes(signature)).to_raw(), b"m", fmt=SignatureFormat.RAW)
    mode = softskf.device_file().stat().st_mode & 0o777
    assert mode == 0o600


def test_random(raw: Raw) -> None:
    dev = raw.connect()
    first, second = create_string_buffer(32), create_string_buffer(32)
    raw.ok("SKF_GenRandom", dev, first, 32)
    raw.ok("SKF_GenRandom", dev, second, 32)
    assert first.raw != second.raw
    assert raw("SKF_GenRandom", dev, first, 0) == Sar.SAR_INDATALENERR
    assert raw("SKF_GenRandom", dev, None, 32) == Sar.SAR_INVALIDPARAMERR
