"""Encodings of SM2 signatures and ciphertexts (GM/T 0009 DER, raw r||s, C1C3C2 / C1C2C3).

Pure ASN.1 and byte handling, below :mod:`gm.sm2` (which re-exports every name here) and the self-test.
"""

from __future__ import annotations

import enum

from gm import asn1, curve
from gm.errors import EncodingError

RAW_SIGNATURE_SIZE = 64
C3_SIZE = 32


class SignatureFormat(str, enum.Enum):
    DER = "der"  # GM/T 0009 SM2Signature, what X.509 and OpenSSL use
    RAW = "raw"  # r || s, 32 bytes each, what SKF ECCSIGNATUREBLOB carries


class CiphertextFormat(str, enum.Enum):
    DER = "der"  # GM/T 0009 SM2Cipher (x, y, C3, C2), what OpenSSL uses
    C1C3C2 = "c1c3c2"  # raw, current standard order (GB/T 32918.4-2016)
    C1C2C3 = "c1c2c3"  # raw, the order of the 2010 draft; still emitted by old tools


def signature_to_raw(der_signature: bytes) -> bytes:
    """DER SM2Signature -> r || s (64 bytes)."""
    try:
        parsed = asn1.SM2Signature.load(der_signature, strict=True)
        r, s = int(parsed["r"].native), int(parsed["s"].native)
    except (ValueError, TypeError) as exc:
        raise EncodingError(f"not a DER SM2 signature: {exc}") from exc
    if not (0 < r < curve.N and 0 < s < curve.N):
        raise EncodingError("SM2 signature values are out of range")
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def signature_to_der(raw_signature: bytes) -> bytes:
    """r || s (64 bytes) -> DER SM2Signature."""
    if len(raw_signature) != RAW_SIGNATURE_SIZE:
        raise EncodingError(f"a raw SM2 signature is 64 bytes (r||s), got {len(raw_signature)}")
    r = int.from_bytes(raw_signature[:32], "big")
    s = int.from_bytes(raw_signature[32:], "big")
    return bytes(asn1.SM2Signature({"r": r, "s": s}).dump())


class SM2Ciphertext:
    """The parts of an SM2 ciphertext: C1 = (x, y), C3 = SM3 hash, C2 = masked message."""

    __slots__ = ("c2", "c3", "x", "y")

    def __init__(self, x: int, y: int, c3: bytes, c2: bytes) -> None:
        if len(c3) != C3_SIZE:
            raise EncodingError(f"SM2 C3 must be {C3_SIZE} bytes, got {len(c3)}")
        if not (0 <= x < curve.P and 0 <= y < curve.P):
            raise EncodingError("SM2 C1 coordinates are out of range")
        self.x, self.y, self.c3, self.c2 = x, y, c3, c2

    @property
    def c1(self) -> bytes:
        return b"\x04" + self.x.to_bytes(32, "big") + self.y.to_bytes(32, "big")

    @classmethod
    def parse(cls, data: bytes, fmt: CiphertextFormat) -> SM2Ciphertext:
        fmt = CiphertextFormat(fmt)
        if fmt is CiphertextFormat.DER:
            try:
                seq = asn1.SM2Cipher.load(data, strict=True)
                return cls(seq["x"].native, seq["y"].native, seq["hash"].native, seq["cipher_text"].native)
            except (ValueError, TypeError) as exc:
                raise EncodingError(f"not a DER SM2 ciphertext: {exc}") from exc
        if len(data) < curve.POINT_BYTES + C3_SIZE or data[0] != 4:
            raise EncodingError(
                f"a raw SM2 ciphertext starts with C1 = 04||x||y and is at least {curve.POINT_BYTES + C3_SIZE} bytes"
            )
        x = int.from_bytes(data[1:33], "big")
        y = int.from_bytes(data[33:65], "big")
        rest = data[65:]
        if fmt is CiphertextFormat.C1C3C2:
            return cls(x, y, rest[:C3_SIZE], rest[C3_SIZE:])
        return cls(x, y, rest[-C3_SIZE:], rest[:-C3_SIZE])

    def encode(self, fmt: CiphertextFormat) -> bytes:
        fmt = CiphertextFormat(fmt)
        if fmt is CiphertextFormat.DER:
            seq = asn1.SM2Cipher({"x": self.x, "y": self.y, "hash": self.c3, "cipher_text": self.c2})
            return bytes(seq.dump())
        if fmt is CiphertextFormat.C1C3C2:
            return self.c1 + self.c3 + self.c2
        return self.c1 + self.c2 + self.c3


def convert_ciphertext(data: bytes, source: CiphertextFormat, target: CiphertextFormat) -> bytes:
    return SM2Ciphertext.parse(data, source).encode(target)
