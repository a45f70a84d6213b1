"""SM2 keys, signatures and encryption (GB/T 32918 / GM/T 0003) with safe defaults.

- The signer ID is always explicit; it defaults to ``DEFAULT_SIGNER_ID`` (1234567812345678).
- Verification raises :class:`~gm.errors.InvalidSignature`; it never returns False.
- Decryption checks C3 inside libcrypto and raises :class:`~gm.errors.DecryptionError` on tampering.
- Key objects never show secret material in ``repr`` and refuse to be pickled.
- The first operation runs the GM/T 0003.5 known-answer self-test (:mod:`gm.selftest`).
"""

from __future__ import annotations

import enum
import functools
from typing import NoReturn, Optional, Tuple, Union

from asn1crypto import keys

from gm import asn1, curve, keyformat
from gm._native import sm2 as native
from gm.errors import DecryptionError, EncodingError, InvalidKey, InvalidSignature, MalformedSignature
from gm.pem import armor, is_pem, unarmor
from gm.selftest import ensure_self_test
from gm.sm3 import sm3

DEFAULT_SIGNER_ID = b"1234567812345678"
RAW_SIGNATURE_SIZE = 64
C3_SIZE = 32


class SignatureFormat(str, enum.Enum):
    DER = "der"  # GM/T 0009 SM2Signature, what X.509 and OpenSSL use
    RAW = "raw"  # r || s, 32 bytes each, what SKF ECCSIGNATUREBLOB carries


class CiphertextFormat(str, enum.Enum):
    DER = "der"  # GM/T 0009 SM2Cipher (x, y, C3, C2), what OpenSSL uses
    C1C3C2 = "c1c3c2"  # raw, current standard order (GB/T 32918.4-2016)
    C1C2C3 = "c1c2c3"  # raw, the order of the 2010 draft; still emitted by old tools


def _as_bytes(value: Union[bytes, str], what: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes or str")


# ---------------------------------------------------------------------------------------------
# Encodings of signatures and ciphertexts
# ---------------------------------------------------------------------------------------------


def _parse_der_signature(der_signature: bytes) -> Tuple[int, int]:
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
    r, s = _parse_der_signature(der_signature)
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


# ---------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------


def _domain() -> keys.ECDomainParameters:
    return keys.ECDomainParameters(name="named", value=asn1.CURVE_NAME)


@functools.lru_cache(maxsize=1)
def _spki_prefix() -> bytes:
    """Everything of an SM2 SubjectPublicKeyInfo before the point (encoded once by asn1crypto)."""
    sample = b"\x04" + curve.GX.to_bytes(32, "big") + curve.GY.to_bytes(32, "big")
    info = keys.PublicKeyInfo({"algorithm": {"algorithm": "ec", "parameters": _domain()}, "public_key": sample})
    der = bytes(info.dump())
    assert der.endswith(sample)
    return der[: -len(sample)]


class SM2PublicKey:
    """An SM2 public key: verify signatures, encrypt, export as raw / SPKI DER / PEM."""

    __slots__ = ("_handle", "_point")

    def __init__(self, _handle: native.PKeyHandle, _point: bytes) -> None:
        self._handle = _handle
        self._point = _point

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_raw(cls, point: bytes) -> SM2PublicKey:
        """From 65 bytes 04||x||y or 64 bytes x||y. The point is checked to lie on the curve."""
        ensure_self_test()
        point = bytes(point)
        if len(point) == 64:
            point = b"\x04" + point
        if len(point) != curve.POINT_BYTES or point[0] != 4:
            raise InvalidKey("SM2 public key must be 65 bytes 04||x||y (or 64 bytes x||y)")
        return cls(native.from_public(point), point)

    @classmethod
    def from_der(cls, der: bytes) -> SM2PublicKey:
        """From a SubjectPublicKeyInfo (what ``openssl pkey -pubout -outform DER`` writes).

        The algorithm is id-ecPublicKey with the curve sm2p256v1, or the SM2 OID (see :mod:`gm.keyformat`).
        """
        der = bytes(der)
        asn1.check_size(der, "public key")
        return cls.from_raw(keyformat.public_point(der))

    @classmethod
    def from_pem(cls, data: bytes) -> SM2PublicKey:
        return cls.from_der(unarmor(data, ("PUBLIC KEY",)))

    @classmethod
    def load(cls, data: bytes) -> SM2PublicKey:
        """PEM or DER SubjectPublicKeyInfo, or raw 64/65 bytes."""
        data = bytes(data)
        if is_pem(data):
            return cls.from_pem(data)
        if len(data) in (64, 65) and not data.startswith(b"\x30"):
            return cls.from_raw(data)
        return cls.from_der(data)

    # -- export ----------------------------------------------------------------------------
    def to_raw(self) -> bytes:
        """65 bytes 04||x||y."""
        return self._point

    @property
    def x(self) -> int:
        return int.from_bytes(self._point[1:33], "big")

    @property
    def y(self) -> int:
        return int.from_bytes(self._point[33:], "big")

    def to_der(self) -> bytes:
        """SubjectPublicKeyInfo: id-ecPublicKey with sm2p256v1, then the 65-byte point."""
        return _spki_prefix() + self._point

    def to_pem(self) -> bytes:
        return armor("PUBLIC KEY", self.to_der())

    def fingerprint(self) -> str:
        """SM3 of the raw point, hex; stable across encodings."""
        return sm3(self._point).hex()

    # -- operations ------------------------------------------------------------------------
    def z_value(self, signer_id: Union[bytes, str] = DEFAULT_SIGNER_ID) -> bytes:
        return curve.z_value(self._point, _as_bytes(signer_id, "signer_id"))

    def message_digest(self, message: bytes, signer_id: Union[bytes, str] = DEFAULT_SIGNER_ID) -> bytes:
        """e = SM3(Z || M): what a token's digest-signing call takes."""
        return sm3(self.z_value(signer_id) + bytes(message))

    def verify(
        self,
        signature: bytes,
        message: bytes,
        signer_id: Union[bytes, str] = DEFAULT_SIGNER_ID,
        fmt: SignatureFormat = SignatureFormat.DER,
    ) -> None:
        der = _signature_as_der(signature, fmt)
        if not native.verify_message(self._handle, bytes(message), der, _as_bytes(signer_id, "signer_id")):
            raise InvalidSignature("SM2 signature does not verify (wrong key, signer ID, data or signature)")

    def verify_digest(self, signature: bytes, digest: bytes, fmt: SignatureFormat = SignatureFormat.DER) -> None:
        _check_digest(digest)
        if not native.verify_digest(self._handle, bytes(digest), _signature_as_der(signature, fmt)):
            raise InvalidSignature("SM2 signature does not verify over this digest")

    def encrypt(self, plaintext: bytes, fmt: CiphertextFormat = CiphertextFormat.DER) -> bytes:
        if not plaintext:
            raise ValueError("SM2 cannot encrypt an empty message")
        der = native.encrypt(self._handle, bytes(plaintext))
        return (
            der if CiphertextFormat(fmt) is CiphertextFormat.DER else convert_ciphertext(der, CiphertextFormat.DER, fmt)
        )

    # -- value semantics -------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        return isinstance(other, SM2PublicKey) and other._point == self._point

    def __hash__(self) -> int:
        return hash(self._point)

    def __repr__(self) -> str:
        return f"SM2PublicKey(fingerprint={self.fingerprint()[:16]}…)"


def _signature_as_der(signature: bytes, fmt: SignatureFormat) -> bytes:
    """The DER form of a signature to verify; MalformedSignature (bad input) unless it is well formed.

    OpenSSL's SM2 verifier would also refuse these, but only as "does not verify": parsing first tells a
    damaged or wrong file (bad input) from a signature that fails its check.
    """
    signature = bytes(signature)
    if SignatureFormat(fmt) is SignatureFormat.RAW:
        der = signature_to_der(signature)
        _parse_der_signature(der)  # r and s in range
        return der
    _parse_der_signature(signature)
    return signature


def _check_digest(digest: bytes) -> None:
    if len(digest) != 32:
        raise ValueError(f"an SM2 digest e = SM3(Z||M) is 32 bytes, got {len(digest)}")


class SM2PrivateKey:
    """An SM2 private key. Secret material leaves only through explicit ``to_*`` calls."""

    __slots__ = ("_handle", "_public")

    def __init__(self, _handle: native.PKeyHandle) -> None:
        self._handle = _handle
        point = native.public_point(_handle)
        self._public = SM2PublicKey(_handle, point)

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def generate(cls) -> SM2PrivateKey:
        ensure_self_test()
        return cls(native.generate())

    @classmethod
    def from_raw(cls, scalar: bytes) -> SM2PrivateKey:
        """From the 32-byte big-endian private scalar d."""
        ensure_self_test()
        scalar = bytes(scalar)
        if len(scalar) != 32:
            raise InvalidKey(f"SM2 private key must be 32 bytes, got {len(scalar)}")
        if not curve.is_valid_private_scalar(int.from_bytes(scalar, "big")):
            raise InvalidKey("SM2 private key is out of range [1, n-2]")
        return cls(native.from_private(scalar))

    @classmethod
    def from_der(cls, der: bytes) -> SM2PrivateKey:
        """From PKCS#8 PrivateKeyInfo (``BEGIN PRIVATE KEY``) or SEC1 ECPrivateKey (``BEGIN EC PRIVATE KEY``).

        The algorithm is id-ecPublicKey with the curve sm2p256v1, or the SM2 OID (see :mod:`gm.keyformat`).
        """
        der = bytes(der)
        asn1.check_size(der, "private key")
        scalar, embedded_public = keyformat.private_key(der)
        return cls._from_scalar_int(scalar, embedded_public)

    @classmethod
    def _from_scalar_int(cls, scalar: int, embedded_public: Optional[bytes]) -> SM2PrivateKey:
        if not isinstance(scalar, int) or not curve.is_valid_private_scalar(scalar):
            raise InvalidKey("SM2 private key is out of range [1, n-2]")
        key = cls.from_raw(scalar.to_bytes(32, "big"))
        if embedded_public and embedded_public != key.public_key.to_raw():
            raise InvalidKey("the public key stored with this private key does not belong to it")
        return key

    @classmethod
    def from_pem(cls, data: bytes) -> SM2PrivateKey:
        return cls.from_der(unarmor(data, ("PRIVATE KEY", "EC PRIVATE KEY", "SM2 PRIVATE KEY")))

    @classmethod
    def load(cls, data: bytes) -> SM2PrivateKey:
        """PEM or DER (PKCS#8 or SEC1)."""
        data = bytes(data)
        if is_pem(data):
            if b"ENCRYPTED PRIVATE KEY" in data[:64]:
                raise EncodingError("encrypted private keys are not supported here; decrypt with openssl pkey first")
            return cls.from_pem(data)
        return cls.from_der(data)

    # -- export ----------------------------------------------------------------------------
    @property
    def public_key(self) -> SM2PublicKey:
        return self._public

    def to_raw(self) -> bytes:
        """The 32-byte secret scalar d. Handle with care."""
        return native.private_scalar(self._handle)

    def to_der(self) -> bytes:
        """PKCS#8 PrivateKeyInfo, readable by ``openssl pkey``."""
        ec_key = keys.ECPrivateKey(
            {
                "version": "ecPrivkeyVer1",
                "private_key": int.from_bytes(self.to_raw(), "big"),
                "public_key": self._public.to_raw(),
            }
        )
        ec_key["private_key"].set_encoded_width(32)
        info = keys.PrivateKeyInfo(
            {
                "version": 0,
                "private_key_algorithm": {"algorithm": "ec", "parameters": _domain()},
                "private_key": ec_key,
            }
        )
        return bytes(info.dump())

    def to_pem(self) -> bytes:
        return armor("PRIVATE KEY", self.to_der())

    # -- operations ------------------------------------------------------------------------
    def sign(
        self,
        message: bytes,
        signer_id: Union[bytes, str] = DEFAULT_SIGNER_ID,
        fmt: SignatureFormat = SignatureFormat.DER,
    ) -> bytes:
        der = native.sign_message(self._handle, bytes(message), _as_bytes(signer_id, "signer_id"))
        return signature_to_raw(der) if SignatureFormat(fmt) is SignatureFormat.RAW else der

    def sign_digest(self, digest: bytes, fmt: SignatureFormat = SignatureFormat.DER) -> bytes:
        """Sign a precomputed e = SM3(Z||M) (see :meth:`SM2PublicKey.message_digest`)."""
        _check_digest(digest)
        der = native.sign_digest(self._handle, bytes(digest))
        return signature_to_raw(der) if SignatureFormat(fmt) is SignatureFormat.RAW else der

    def decrypt(self, ciphertext: bytes, fmt: CiphertextFormat = CiphertextFormat.DER) -> bytes:
        try:
            der = SM2Ciphertext.parse(bytes(ciphertext), fmt).encode(CiphertextFormat.DER)
        except EncodingError as exc:
            raise DecryptionError(f"malformed SM2 ciphertext: {exc}") from exc
        return native.decrypt(self._handle, der)

    # -- safety ----------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"SM2PrivateKey(public={self._public.fingerprint()[:16]}…)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("SM2PrivateKey cannot be pickled; export it explicitly with to_pem()")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SM2PrivateKey) and other._public == self._public

    def __hash__(self) -> int:
        return hash(self._public)
