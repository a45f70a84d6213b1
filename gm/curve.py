"""Domain parameters of sm2p256v1 (GB/T 32918.5 / GM/T 0003.5), the default signer ID and the SM2 user hash Z.

Constants only at import time (drivers and the command line import them without loading any crypto).
"""

from __future__ import annotations

# The signer ID of GM/T 0009 that every party assumes unless told otherwise; always passed explicitly.
DEFAULT_SIGNER_ID = b"1234567812345678"

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

FIELD_BYTES = 32
POINT_BYTES = 1 + 2 * FIELD_BYTES  # 04 || x || y

_CURVE_PART = b"".join(v.to_bytes(FIELD_BYTES, "big") for v in (A, B, GX, GY))


def is_valid_private_scalar(d: int) -> bool:
    """SM2 private keys lie in [1, n-2] (GB/T 32918.1 §6.1: d·G and (1+d)^-1 must exist)."""
    return 1 <= d <= N - 2


def z_value(public_point: bytes, signer_id: bytes) -> bytes:
    """Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) for a 65-byte uncompressed point."""
    if len(public_point) != POINT_BYTES or public_point[0] != 4:
        raise ValueError("public point must be 65 bytes 04||x||y")
    bits = len(signer_id) * 8
    if bits > 0xFFFF:
        raise ValueError("signer ID longer than 8191 bytes")
    from gm.sm3 import sm3  # here, not at import: SM3 loads the crypto library

    return sm3(bits.to_bytes(2, "big") + signer_id + _CURVE_PART + public_point[1:])
