"""Encodings of SM2 signatures and ciphertexts (GM/T 0009 DER, raw r||s, C1C3C2 / C1C2C3).

Pure ASN.1 and byte handling, below :mod:`gm.sm2` (which re-exports every name here) and the self-test.
"""

from __future__ import annotations

import enum
from typing import Tuple

from gm import asn1, curve
from gm.errors import EncodingError, MalformedSignature

RAW_SIGNATURE_SIZE = 64
C3_SIZE = 32


class SignatureFormat(str, enum.Enum):
    DER = "der"  # GM/T 0009 SM2Signature, what X.509 and OpenSSL use
    RAW = "raw"  # r || s, 32 bytes each, what SKF ECCSIGNATUREBLOB carries


class CiphertextFormat(str, enum.Enum):
    DER = "der"  # GM/T 0009 SM2Cipher (x, y, C3, C2), what OpenSSL uses
    C1C3C2 = "c1c3c2"  # raw, current standard order (GB/T 32918.4-2016)
    C1C2C3 = "c1c2c3"  # raw, the order of the 2010 draft; still emitted by old tools


def parse_der_signature(der_signature: bytes) -> Tuple[int, int]:
    """(r, s) of a canonical DER SM2Signature with both values in [1, n-1]; MalformedSignature otherwise.

    SEQUENCE { r INTEGER, s INTEGER } with r, s < n takes at most 72 bytes, so every length is one octet;
    checked here octet by octet (asn1crypto accepts BER, and a re-encoding to compare costs more than
    the check). OpenSSL's verifier refuses the same inputs (it re-encodes and compares).
    """
    sig = bytes(der_signature)
    size = len(sig)
    if size < 8 or size > 72 or sig[0] != 0x30 or sig[1] != size - 2:
        raise MalformedSignature(f"not a DER SM2 signature ({size} bytes; a SEQUENCE of two INTEGERs)")
    values = []
    pos = 2
    for name in ("r", "s"):
        if pos + 2 > size or sig[pos] != 0x02 or not 1 <= sig[pos + 1] <= 33 or pos + 2 + sig[pos + 1] > size:
            raise MalformedSignature(f"not a DER SM2 signature: {name} is not a DER INTEGER of at most 33 bytes")
        value = sig[pos + 2 : pos + 2 + sig[pos + 1]]
        if value[0] & 0x80 or (len(value) > 1 and value[0] == 0 and not value[1] & 0x80):
            raise MalformedSignature(f"not a DER SM2 signature: {name} is negative or not in canonical DER")
        values.append(int.from_bytes(value, "big"))
        pos += 2 + len(value)
    if pos != size:
        raise MalformedSignature("not a DER SM2 signature: trailing bytes")
    r, s = values
    if not (0 < r < curve.N and 0 < s < curve.N):
        raise MalformedSignature("SM2 signature values are out of range")
    return r, s


def signature_to_raw(der_signature: bytes) -> bytes:
    """DER SM2Signature -> r || s (64 bytes)."""
    r, s = parse_der_signature(der_signature)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def signature_to_der(raw_signature: bytes) -> bytes:
    """r || s (64 bytes) -> DER SM2Signature."""
    if len(raw_signature) != RAW_SIGNATURE_SIZE:
        raise MalformedSignature(f"a raw SM2 signature is 64 bytes (r||s), got {len(raw_signature)}")
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
            with asn1.decoding("SM2 ciphertext"):
                seq = asn1.SM2Cipher.load(data, strict=True)
                x, y, c3, c2 = (seq[name].native for name in ("x", "y", "hash", "cipher_text"))
            return cls(x, y, c3, c2)
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
