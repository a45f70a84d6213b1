"""Containers, SM2 keys and certificates over an open SKF application: the part of a session beyond PINs.

Signing: the host computes Z from the signer ID and the container's public key, e = SM3(Z || M), and the key
signs e (SKF_ECCSignData); the ECCSIGNATUREBLOB's r, s become a DER SM2Signature, checked against the public key
before it is returned (a key that signs wrongly is an error, never a bad signature handed on).
"""

from __future__ import annotations

import abc
import contextlib
from ctypes import byref, c_int32, create_string_buffer
from typing import TYPE_CHECKING, Any, Iterator, List, Optional, Protocol

from drivers.base import CertificateInput, EnvelopedKeySession, as_certificate, serialized
from drivers.errors import DeviceError, DeviceRemoved, DriverError, NotFound, NotSupported
from drivers.model import Capability, ContainerInfo, KeyAlgorithm, KeyUsage
from drivers.skf.api import (
    CONTAINER_TYPE_EMPTY,
    ECCPUBLICKEYBLOB,
    ECCSIGNATUREBLOB,
    HANDLE,
    ULONG,
)
from drivers.skf.errors import Context
from gm import skf as blobs
from gm.envelope import EnvelopedKey
from gm.errors import EncodingError, GMError, InvalidSignature
from gm.sm2 import DEFAULT_SIGNER_ID, CiphertextFormat, SM2Ciphertext, SM2PublicKey, signature_to_der
from gm.x509 import Certificate

if TYPE_CHECKING:
    from drivers.model import DeviceInfo
    from drivers.skf.api import SgdFamily
    from drivers.skf.library import SkfLibrary


class SkfDeviceView(Protocol):
    """What the key half of a session reads of its device (drivers.skf.driver.SkfDevice)."""

    info: DeviceInfo
    library: SkfLibrary
    family: SgdFamily
    decrypt_form: Optional[str]

    def decode(self, raw: bytes) -> str: ...

    def is_removed(self) -> bool: ...


MAX_CONTAINER_NAME = 64  # bytes, GM/T 0016


class SkfKeySession(EnvelopedKeySession):
    # -- provided by the PIN part of the session (drivers.skf.driver.SkfSession) -------------
    @property
    @abc.abstractmethod
    def _skf(self) -> SkfDeviceView: ...

    @abc.abstractmethod
    def _check(self, name: str, *args: Any, context: Optional[Context] = None) -> None: ...

    @abc.abstractmethod
    def _read(self, name: str, *args: Any, context: Optional[Context] = None) -> bytes: ...

    @abc.abstractmethod
    def _application(self) -> HANDLE: ...

    @abc.abstractmethod
    def _need_login(self) -> None: ...

    @abc.abstractmethod
    def _encode(self, text: str, what: str) -> bytes: ...

    # -- containers --------------------------------------------------------------------------
    def _container_name(self, name: str) -> bytes:
        raw = self._encode(name, "container name")
        if not raw or len(raw) > MAX_CONTAINER_NAME or b"\0" in raw:
            raise ValueError(f"a container name is 1-{MAX_CONTAINER_NAME} bytes")
        return raw

    @contextlib.contextmanager
    def _container(self, name: str) -> Iterator[HANDLE]:
        handle = HANDLE()
        self._check(
            "SKF_OpenContainer",
            self._application(),
            self._container_name(name),
            byref(handle),
            context=Context(what=f"container {name!r}"),
        )
        try:
            yield handle
        finally:
            with contextlib.suppress(DriverError):
                self._skf.library.call("SKF_CloseContainer", handle)

    @serialized
    def containers(self) -> List[ContainerInfo]:
        names = self._skf.library.read_names("SKF_EnumContainer", self._application())
        result = []
        for raw in names:
            name = self._skf.decode(raw)
            with self._container(name) as handle:
                result.append(
                    ContainerInfo(
                        name=name,
                        has_sign_key=self._has_key(handle, True),
                        has_encrypt_key=self._has_key(handle, False),
                        has_sign_certificate=self._has_certificate(handle, True),
                        has_encrypt_certificate=self._has_certificate(handle, False),
                    )
                )
        return result

    def _probe(self, name: str, handle: HANDLE, sign: bool) -> bool:
        size = ULONG(0)
        code = self._skf.library.call(name, handle, int(sign), None, byref(size))
        if code != 0 and self._skf.is_removed():
            raise DeviceRemoved(code)
        return code == 0 and size.value > 0

    def _has_key(self, handle: HANDLE, sign: bool) -> bool:
        return self._probe("SKF_ExportPublicKey", handle, sign)

    def _has_certificate(self, handle: HANDLE, sign: bool) -> bool:
        return self._probe("SKF_ExportCertificate", handle, sign)

    @serialized
    def container_type(self, name: str) -> int:
        """SKF_GetContainerType: 0 empty, 1 RSA, 2 ECC (SM2)."""
        with self._container(name) as handle:
            kind = ULONG(CONTAINER_TYPE_EMPTY)
            self._check("SKF_GetContainerType", handle, byref(kind))
            return int(kind.value)

    @serialized
    def create_container(self, name: str) -> None:
        self._need_login()
        handle = HANDLE()
        self._check(
            "SKF_CreateContainer",
            self._application(),
            self._container_name(name),
            byref(handle),
            context=Context(what=f"container {name!r}"),
        )
        with contextlib.suppress(DriverError):
            self._skf.library.call("SKF_CloseContainer", handle)

    @serialized
    def delete_container(self, name: str) -> None:
        self._need_login()
        self._check(
            "SKF_DeleteContainer",
            self._application(),
            self._container_name(name),
            context=Context(what=f"container {name!r}"),
        )

    # -- keys --------------------------------------------------------------------------------
    @serialized
    def generate_key(self, container: str, algorithm: KeyAlgorithm = KeyAlgorithm.SM2) -> bytes:
        if algorithm is not KeyAlgorithm.SM2 or not self._skf.info.supports(Capability.SM2_KEYGEN):
            raise NotSupported(f"{algorithm.value} key generation on this key")
        self._need_login()
        blob = ECCPUBLICKEYBLOB()
        with self._container(container) as handle:
            self._check(
                "SKF_GenECCKeyPair",
                handle,
                self._skf.family.sm2_1,
                byref(blob),
                context=Context(what=f"SM2 key generation with ulAlgId 0x{self._skf.family.sm2_1:08X}"),
            )
        return self._public_from_blob(bytes(blob)).to_der()

    @staticmethod
    def _public_from_blob(data: bytes) -> SM2PublicKey:
        try:
            return SM2PublicKey.from_raw(
                blobs.EccPublicKeyBlob.from_bytes(data[: blobs.EccPublicKeyBlob.SIZE]).to_point()
            )
        except GMError as exc:
            raise DeviceError(f"the key returned an unusable public key ({exc})", "ECCPUBLICKEYBLOB") from exc

    def _public_key(self, container: str, usage: KeyUsage) -> SM2PublicKey:
        with self._container(container) as handle:
            data = self._read(
                "SKF_ExportPublicKey",
                handle,
                int(usage is KeyUsage.SIGN),
                context=Context(what=f"the {usage.value} key of {container!r}"),
            )
        if len(data) < blobs.EccPublicKeyBlob.SIZE:
            raise DeviceError(f"the key returned a {len(data)}-byte public key blob", "ECCPUBLICKEYBLOB")
        return self._public_from_blob(data)

    @serialized
    def public_key_der(self, container: str, usage: KeyUsage = KeyUsage.SIGN) -> bytes:
        return self._public_key(container, usage).to_der()

    def _sign_e(self, container: str, digest: bytes, public: SM2PublicKey) -> bytes:
        if len(digest) != 32:
            raise ValueError(f"an SM2 digest e = SM3(Z||M) is 32 bytes, got {len(digest)}")
        self._need_login()
        blob = ECCSIGNATUREBLOB()
        with self._container(container) as handle:
            self._check(
                "SKF_ECCSignData",
                handle,
                bytes(digest),
                32,
                byref(blob),
                context=Context(what=f"signing key of {container!r}"),
            )
        try:
            der = signature_to_der(blobs.EccSignatureBlob.from_bytes(bytes(blob)).to_raw())
            public.verify_digest(der, digest)
        except (EncodingError, InvalidSignature) as exc:
            raise DeviceError(f"the key returned a signature that does not verify ({exc})", "ECCSIGNATUREBLOB") from exc
        return der

    @serialized
    def sign(self, container: str, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
        public = self._public_key(container, KeyUsage.SIGN)
        return self._sign_e(container, public.message_digest(message, signer_id), public)

    @serialized
    def sign_digest(self, container: str, digest: bytes) -> bytes:
        return self._sign_e(container, digest, self._public_key(container, KeyUsage.SIGN))

    @serialized
    def import_enveloped_key(self, container: str, envelope: EnvelopedKey) -> None:
        self._need_login()
        data = envelope.to_skf_blob()
        buffer = create_string_buffer(data, len(data) + 64)  # slack for libraries that read sizeof(ENVELOPEDKEYBLOB)
        with self._container(container) as handle:
            self._check(
                "SKF_ImportECCKeyPair", handle, buffer, context=Context(what=f"the signing key of {container!r}")
            )

    @serialized
    def decrypt(self, container: str, ciphertext: bytes) -> bytes:
        """GM/T 0009 SM2 ciphertext with the encryption key: only through a vendor's SKF_ECCDecrypt (not in GM/T
        0016-2012's function set), whose signature the profile names."""
        form = self._skf.decrypt_form
        if not self._skf.info.supports(Capability.SM2_DECRYPT) or form is None:
            raise NotSupported(
                "SM2 decryption with the key's encryption key (GM/T 0016-2012 has no such call; this library or its "
                "profile offers no SKF_ECCDecrypt)"
            )
        self._need_login()
        try:
            parts = SM2Ciphertext.parse(ciphertext, CiphertextFormat.DER)
        except EncodingError as exc:
            raise ValueError(f"not a GM/T 0009 SM2 ciphertext: {exc}") from exc
        blob = blobs.EccCipherBlob(parts.x.to_bytes(32, "big"), parts.y.to_bytes(32, "big"), parts.c3, parts.c2)
        cipher = create_string_buffer(blob.to_bytes())
        out = create_string_buffer(len(parts.c2) + 32)
        size = ULONG(len(out))
        with self._container(container) as handle:
            args: List[Any] = [handle, cipher, out, byref(size)]
            if form == "with_sign_flag":
                args.insert(1, c_int32(0))
            self._check("SKF_ECCDecrypt", *args, context=Context(what=f"the encryption key of {container!r}"))
        return out.raw[: min(size.value, len(out))]

    # -- certificates ------------------------------------------------------------------------
    @serialized
    def write_certificate(self, container: str, usage: KeyUsage, certificate: CertificateInput) -> None:
        self._need_login()
        cert = as_certificate(certificate)
        if cert.public_key != self._public_key(container, usage):
            raise NotFound(f"this certificate is not for the {usage.value} key of {container!r}")
        der = cert.to_der()
        with self._container(container) as handle:
            self._check("SKF_ImportCertificate", handle, int(usage is KeyUsage.SIGN), der, len(der))

    @serialized
    def read_certificate(self, container: str, usage: KeyUsage) -> Optional[Certificate]:
        with self._container(container) as handle:
            if not self._has_certificate(handle, usage is KeyUsage.SIGN):
                return None
            der = self._read("SKF_ExportCertificate", handle, int(usage is KeyUsage.SIGN))
        try:
            return Certificate.from_der(der)
        except GMError as exc:
            raise DeviceError(
                f"the {usage.value} certificate in {container!r} is unreadable ({exc})", "certificate"
            ) from exc

    @serialized
    def delete_certificate(self, container: str, usage: KeyUsage) -> None:
        raise NotSupported("deleting one certificate (GM/T 0016 has no call for it; delete the container instead)")
