"""SM2 keys, signatures and encryption (GB/T 32918 / GM/T 0003) with safe defaults.

- The signer ID is always explicit; it defaults to ``DEFAULT_SIGNER_ID`` (1234567812345678).
- Verification raises :class:`~gm.errors.InvalidSignature`; it never returns False.
- Decryption checks C3 inside libcrypto and raises :class:`~gm.errors.DecryptionError` on tampering.
- Key objects never show secret material in ``repr`` and refuse to be pickled.
- The first operation runs the GM/T 0003.5 known-answer self-test (:mod:`gm.selftest`).
"""

from __future__ import annotations

import functools
from typing import Any, NoReturn, Optional, Union

from asn1crypto import keys, pem

from gm import asn1, curve
from gm._native import sm2 as native
from gm.errors import DecryptionError, EncodingError, InvalidKey, InvalidSignature
from gm.pem import armor, unarmor
from gm.selftest import ensure_self_test
from gm.sm2_codec import (
    C3_SIZE,
    RAW_SIGNATURE_SIZE,
    CiphertextFormat,
    SignatureFormat,
    SM2Ciphertext,
    convert_ciphertext,
    signature_to_der,
    signature_to_raw,
)
from gm.sm3 import sm3

DEFAULT_SIGNER_ID = curve.DEFAULT_SIGNER_ID

__all__ = [
    "C3_SIZE",
    "DEFAULT_SIGNER_ID",
    "RAW_SIGNATURE_SIZE",
    "CiphertextFormat",
    "SM2Ciphertext",
    "SM2PrivateKey",
    "SM2PublicKey",
    "SignatureFormat",
    "convert_ciphertext",
    "signature_to_der",
    "signature_to_raw",
]


def _as_bytes(value: Union[bytes, str], what: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes or str")


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


def _check_curve(params: Any) -> None:
    if params.name != "named" or params.chosen.native != asn1.CURVE_NAME:
        raise InvalidKey(f"key is not on the SM2 curve (parameters: {params.native!r})")


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
        """From a SubjectPublicKeyInfo (what ``openssl pkey -pubout -outform DER`` writes)."""
        try:
            info = keys.PublicKeyInfo.load(der, strict=True)
            algorithm = info["algorithm"]["algorithm"].native
            params = info["algorithm"]["parameters"]
            if algorithm != "ec":
                raise InvalidKey(f"not an elliptic-curve key (algorithm {algorithm})")
            point = bytes(info["public_key"].native)
        except (ValueError, TypeError) as exc:
            raise EncodingError(f"not a DER SubjectPublicKeyInfo: {exc}") from exc
        _check_curve(params)
        return cls.from_raw(point)

    @classmethod
    def from_pem(cls, data: bytes) -> SM2PublicKey:
        return cls.from_der(unarmor(data, ("PUBLIC KEY",)))

    @classmethod
    def load(cls, data: bytes) -> SM2PublicKey:
        """PEM or DER SubjectPublicKeyInfo, or raw 64/65 bytes."""
        if pem.detect(data):
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
    signature = bytes(signature)
    if SignatureFormat(fmt) is SignatureFormat.RAW:
        try:
            return signature_to_der(signature)
        except EncodingError as exc:
            raise InvalidSignature(f"malformed SM2 signature: {exc}") from exc
    # DER goes to libcrypto as it is: OpenSSL's SM2 verifier itself refuses non-canonical DER and
    # r or s outside [1, n-1] (sm2_sig_verify re-encodes and compares), so no second parse is needed.
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
        """From PKCS#8 PrivateKeyInfo (``BEGIN PRIVATE KEY``) or SEC1 ECPrivateKey (``BEGIN EC PRIVATE KEY``)."""
        try:
            info = keys.PrivateKeyInfo.load(der, strict=True)
            info["version"].native  # noqa: B018 - forces parsing to detect non-PKCS#8 input
        except (ValueError, TypeError):
            return cls._from_sec1(der)
        try:
            algorithm = info["private_key_algorithm"]["algorithm"].native
            params = info["private_key_algorithm"]["parameters"]
            if algorithm != "ec":
                raise InvalidKey(f"not an elliptic-curve key (algorithm {algorithm})")
            _check_curve(params)
            ec_key = info["private_key"].parsed
            scalar = ec_key["private_key"].native
        except (ValueError, TypeError, KeyError) as exc:
            raise EncodingError(f"malformed PKCS#8 SM2 key: {exc}") from exc
        return cls._from_scalar_int(scalar, ec_key["public_key"].native)

    @classmethod
    def _from_sec1(cls, der: bytes) -> SM2PrivateKey:
        try:
            ec_key = keys.ECPrivateKey.load(der, strict=True)
            scalar = ec_key["private_key"].native
            params = ec_key["parameters"]
        except (ValueError, TypeError) as exc:
            raise EncodingError("not a PKCS#8 or SEC1 DER private key") from exc
        if params.native is not None:
            _check_curve(params)
        return cls._from_scalar_int(scalar, ec_key["public_key"].native)

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
        if pem.detect(data):
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
