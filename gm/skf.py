"""GM/T 0016 (SKF) key and cryptogram blobs: build and parse, byte-exact.

The C structures are ``#pragma pack(1)`` with little-endian ULONGs (the SKF ABI is x86 Windows/Linux).
Coordinates and scalars live in 64-byte fields sized for 512-bit curves; a 256-bit SM2 value is
right-aligned (the first 32 bytes are zero). ECCCIPHERBLOB carries C1 (x, y), C3 (HASH) and C2.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from gm.errors import EncodingError

FIELD = 64  # ECC_MAX_XCOORDINATE_BITS_LEN / 8 (= ECC_MAX_YCOORDINATE_BITS_LEN / 8 = ECC_MAX_MODULUS_BITS_LEN / 8)
SM2_BITS = 256
SM2_BYTES = 32
_ULONG = struct.Struct("<I")


class SGD(enum.IntEnum):
    """Algorithm identifiers from GM/T 0006 as used in SKF headers of the standard family.

    Some vendors' headers differ (DESIGN.md §2); driver profiles map these to their own values.
    """

    SM1_ECB = 0x00000101
    SM4_ECB = 0x00000401
    SM4_CBC = 0x00000402
    SM2_1 = 0x00020100  # signature
    SM2_2 = 0x00020200  # key exchange
    SM2_3 = 0x00020400  # encryption
    SM3 = 0x00000001


def pad_field(value: bytes) -> bytes:
    """Right-align a big-endian value in a 64-byte SKF field."""
    if len(value) > FIELD:
        raise EncodingError(f"value of {len(value)} bytes does not fit a {FIELD}-byte SKF field")
    return bytes(FIELD - len(value)) + value


def unpad_field(field: bytes, size: int = SM2_BYTES) -> bytes:
    """The last ``size`` bytes of a 64-byte field; the leading bytes must be zero."""
    if len(field) != FIELD:
        raise EncodingError(f"SKF field must be {FIELD} bytes, got {len(field)}")
    if any(field[: FIELD - size]):
        raise EncodingError("SKF field holds more than a 256-bit value (leading bytes not zero)")
    return field[FIELD - size :]


def _take(data: bytes, offset: int, size: int, what: str) -> bytes:
    if offset + size > len(data):
        raise EncodingError(f"{what}: blob truncated at byte {len(data)}, need {offset + size}")
    return data[offset : offset + size]


@dataclass(frozen=True)
class EccPublicKeyBlob:
    """ECCPUBLICKEYBLOB { ULONG BitLen; BYTE X[64]; BYTE Y[64]; } — 132 bytes."""

    x: bytes  # 32 bytes big-endian
    y: bytes
    bit_len: int = SM2_BITS

    SIZE = 4 + 2 * FIELD

    @classmethod
    def from_point(cls, point: bytes) -> EccPublicKeyBlob:
        if len(point) != 65 or point[0] != 4:
            raise EncodingError("public point must be 65 bytes 04||x||y")
        return cls(point[1:33], point[33:])

    def to_point(self) -> bytes:
        return b"\x04" + self.x + self.y

    def to_bytes(self) -> bytes:
        return _ULONG.pack(self.bit_len) + pad_field(self.x) + pad_field(self.y)

    @classmethod
    def from_bytes(cls, data: bytes) -> EccPublicKeyBlob:
        if len(data) != cls.SIZE:
            raise EncodingError(f"ECCPUBLICKEYBLOB is {cls.SIZE} bytes, got {len(data)}")
        (bit_len,) = _ULONG.unpack_from(data, 0)
        if bit_len != SM2_BITS:
            raise EncodingError(f"ECCPUBLICKEYBLOB BitLen is {bit_len}, SM2 needs {SM2_BITS}")
        return cls(unpad_field(data[4 : 4 + FIELD]), unpad_field(data[4 + FIELD :]), bit_len)


@dataclass(frozen=True)
class EccPrivateKeyBlob:
    """ECCPRIVATEKEYBLOB { ULONG BitLen; BYTE PrivateKey[64]; } — 68 bytes."""

    d: bytes
    bit_len: int = SM2_BITS

    SIZE = 4 + FIELD

    def to_bytes(self) -> bytes:
        return _ULONG.pack(self.bit_len) + pad_field(self.d)

    @classmethod
    def from_bytes(cls, data: bytes) -> EccPrivateKeyBlob:
        if len(data) != cls.SIZE:
            raise EncodingError(f"ECCPRIVATEKEYBLOB is {cls.SIZE} bytes, got {len(data)}")
        (bit_len,) = _ULONG.unpack_from(data, 0)
        return cls(unpad_field(data[4:]), bit_len)

    def __repr__(self) -> str:
        return f"EccPrivateKeyBlob(bit_len={self.bit_len}, d=<hidden>)"


@dataclass(frozen=True)
class EccSignatureBlob:
    """ECCSIGNATUREBLOB { BYTE r[64]; BYTE s[64]; } — 128 bytes."""

    r: bytes
    s: bytes

    SIZE = 2 * FIELD

    @classmethod
    def from_raw(cls, raw: bytes) -> EccSignatureBlob:
        if len(raw) != 64:
            raise EncodingError("raw SM2 signature is 64 bytes r||s")
        return cls(raw[:32], raw[32:])

    def to_raw(self) -> bytes:
        return self.r + self.s

    def to_bytes(self) -> bytes:
        return pad_field(self.r) + pad_field(self.s)

    @classmethod
    def from_bytes(cls, data: bytes) -> EccSignatureBlob:
        if len(data) != cls.SIZE:
            raise EncodingError(f"ECCSIGNATUREBLOB is {cls.SIZE} bytes, got {len(data)}")
        return cls(unpad_field(data[:FIELD]), unpad_field(data[FIELD:]))


@dataclass(frozen=True)
class EccCipherBlob:
    """ECCCIPHERBLOB { BYTE X[64]; BYTE Y[64]; BYTE HASH[32]; ULONG CipherLen; BYTE Cipher[CipherLen]; }."""

    x: bytes
    y: bytes
    hash: bytes  # C3
    cipher: bytes  # C2

    HEADER = 2 * FIELD + 32 + 4

    @classmethod
    def from_c1c3c2(cls, data: bytes) -> EccCipherBlob:
        if len(data) < 65 + 32 or data[0] != 4:
            raise EncodingError("C1||C3||C2 ciphertext must start with 04||x||y and a 32-byte C3")
        return cls(data[1:33], data[33:65], data[65:97], data[97:])

    def to_c1c3c2(self) -> bytes:
        return b"\x04" + self.x + self.y + self.hash + self.cipher

    def to_bytes(self) -> bytes:
        if len(self.hash) != 32:
            raise EncodingError("ECCCIPHERBLOB HASH must be 32 bytes")
        return pad_field(self.x) + pad_field(self.y) + self.hash + _ULONG.pack(len(self.cipher)) + self.cipher

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> tuple[EccCipherBlob, int]:
        """Parse at ``offset``; return the blob and the offset just past it."""
        x = unpad_field(_take(data, offset, FIELD, "ECCCIPHERBLOB"))
        y = unpad_field(_take(data, offset + FIELD, FIELD, "ECCCIPHERBLOB"))
        digest = _take(data, offset + 2 * FIELD, 32, "ECCCIPHERBLOB")
        (length,) = _ULONG.unpack(_take(data, offset + 2 * FIELD + 32, 4, "ECCCIPHERBLOB"))
        cipher = _take(data, offset + cls.HEADER, length, "ECCCIPHERBLOB")
        return cls(x, y, digest, cipher), offset + cls.HEADER + length

    @classmethod
    def from_bytes(cls, data: bytes) -> EccCipherBlob:
        blob, end = cls.parse(data)
        if end != len(data):
            raise EncodingError(f"ECCCIPHERBLOB has {len(data) - end} trailing bytes")
        return blob


@dataclass(frozen=True)
class EnvelopedKeyBlob:
    """ENVELOPEDKEYBLOB { ULONG Version; ULONG ulSymmAlgID; ULONG ulBits; BYTE cbEncryptedPriKey[64];
    ECCPUBLICKEYBLOB PubKey; ECCCIPHERBLOB ECCCipherBlob; } — the encryption key pair, its private key
    under a symmetric key that is itself SM2-encrypted to the device's signing key.
    """

    symm_alg_id: int
    encrypted_private_key: bytes  # SM4-ECB(d): 32 bytes, right-aligned in the 64-byte field
    public_key: EccPublicKeyBlob
    cipher_blob: EccCipherBlob  # the 16-byte SM4 key, SM2-encrypted
    version: int = 1
    bits: int = SM2_BITS

    def to_bytes(self) -> bytes:
        return (
            struct.pack("<III", self.version, self.symm_alg_id, self.bits)
            + pad_field(self.encrypted_private_key)
            + self.public_key.to_bytes()
            + self.cipher_blob.to_bytes()
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> EnvelopedKeyBlob:
        head = _take(data, 0, 12, "ENVELOPEDKEYBLOB")
        version, alg, bits = struct.unpack("<III", head)
        if version != 1:
            raise EncodingError(f"ENVELOPEDKEYBLOB version {version} is not supported (expected 1)")
        field = _take(data, 12, FIELD, "ENVELOPEDKEYBLOB")
        # Most producers right-align the 32-byte ciphertext; a few left-align it. Accept both.
        encrypted = field[SM2_BYTES:] if not any(field[:SM2_BYTES]) else field[:SM2_BYTES]
        if any(field[:SM2_BYTES]) and any(field[SM2_BYTES:]):
            raise EncodingError("ENVELOPEDKEYBLOB cbEncryptedPriKey holds more than 32 bytes")
        pub_off = 12 + FIELD
        public = EccPublicKeyBlob.from_bytes(_take(data, pub_off, EccPublicKeyBlob.SIZE, "ENVELOPEDKEYBLOB"))
        cipher, end = EccCipherBlob.parse(data, pub_off + EccPublicKeyBlob.SIZE)
        if end != len(data):
            raise EncodingError(f"ENVELOPEDKEYBLOB has {len(data) - end} trailing bytes")
        return cls(alg, encrypted, public, cipher, version, bits)
