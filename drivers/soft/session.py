"""A session on a soft keystore: PINs, SM2 keys, the escrowed encryption key and certificates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from drivers.base import (
    CertificateInput,
    EnvelopedKeySession,
    KeyDevice,
    as_certificate,
    check_new_pin,
    check_pin_format,
    serialized,
)
from drivers.errors import KeyMismatch, KeystoreCorrupted, NotFound, NotLoggedIn, NotSupported
from drivers.model import ContainerInfo, KeyAlgorithm, KeyUsage, PinInfo
from drivers.soft.keystore import KeyMaterial, Keystore
from gm.envelope import EnvelopedKey
from gm.errors import DecryptionError
from gm.sm2 import DEFAULT_SIGNER_ID, SM2PrivateKey, SM2PublicKey
from gm.x509 import Certificate


@dataclass(frozen=True)
class HistoricKey:
    """An earlier encryption key pair kept in the keystore (nothing secret)."""

    container: str  # the container it came from
    public_der: bytes
    certificate: Optional[Certificate]
    retired: int  # Unix time


@dataclass(frozen=True)
class ExportedKey:
    """A private key taken out of a soft keystore for a backup (soft keystores only: hard keys never export)."""

    container: str
    usage: KeyUsage
    key: SM2PrivateKey
    certificate: Optional[Certificate]
    retired: Optional[int] = None  # set for history entries


class SoftSession(EnvelopedKeySession):
    def __init__(self, device: KeyDevice, keystore: Keystore) -> None:
        super().__init__(device)
        self._keystore = keystore
        self._material: Optional[KeyMaterial] = None

    def __enter__(self) -> SoftSession:
        return self

    @property
    def _store(self) -> Keystore:
        return self._keystore

    def _need_login(self) -> KeyMaterial:
        if self._material is None:
            raise NotLoggedIn("soft_not_logged_in")
        return self._material

    # -- lifecycle and PINs ----------------------------------------------------------------
    def close(self) -> None:
        self.logout()

    @property
    def logged_in(self) -> bool:
        return self._material is not None

    @serialized
    def pin_info(self, admin: bool = False) -> PinInfo:
        return self._store.pin_info(admin)

    @serialized
    def login(self, pin: str) -> None:
        check_pin_format(pin, self.policy)
        self.logout()
        self._material = self._store.verify_pin(pin)

    @serialized
    def logout(self) -> None:
        if self._material is not None:
            self._material.wipe()
            self._material = None

    @serialized
    def change_pin(self, old_pin: str, new_pin: str) -> None:
        check_pin_format(old_pin, self.policy)
        check_new_pin(new_pin, None, self.policy)
        self._store.change_pin(old_pin, new_pin)

    @serialized
    def unblock_pin(self, admin_credential: str, new_pin: str) -> None:
        check_new_pin(new_pin, None, self.policy)
        self._store.unblock(admin_credential, new_pin)

    @serialized
    def rotate_admin_credential(self, current: Optional[str] = None, new: Optional[str] = None) -> str:
        """A new random admin unblock secret, wrapping the container key (the user's login opens it: no current
        secret is needed, so the keystore always makes its own)."""
        if new is not None:
            raise ValueError("a soft keystore makes its own admin secret")
        return self._store.rotate_admin(self._need_login())

    # -- containers and keys ---------------------------------------------------------------
    @serialized
    def containers(self) -> List[ContainerInfo]:
        result = []
        for name, entry in sorted(self._store.containers().items()):
            result.append(
                ContainerInfo(
                    name=name,
                    has_sign_key=entry.sign is not None,
                    has_encrypt_key=entry.encrypt is not None,
                    has_sign_certificate=entry.sign is not None and entry.sign.certificate is not None,
                    has_encrypt_certificate=entry.encrypt is not None and entry.encrypt.certificate is not None,
                )
            )
        return result

    @serialized
    def create_container(self, name: str) -> None:
        _check_container_name(name)
        self._store.create_container(name)

    @serialized
    def delete_container(self, name: str) -> None:
        self._need_login()
        self._store.delete_container(name)

    @serialized
    def generate_key(self, container: str, algorithm: KeyAlgorithm = KeyAlgorithm.SM2) -> bytes:
        if algorithm is not KeyAlgorithm.SM2:
            raise NotSupported(f"{algorithm.value} keys in a soft keystore")
        material = self._need_login()
        key = SM2PrivateKey.generate()
        public_der = key.public_key.to_der()
        self._store.store_key(material, container, KeyUsage.SIGN, public_der, key.to_raw())
        return public_der

    @serialized
    def public_key_der(self, container: str, usage: KeyUsage = KeyUsage.SIGN) -> bytes:
        return self._store.public_der(container, usage)

    def _private_key(self, container: str, usage: KeyUsage) -> SM2PrivateKey:
        key = SM2PrivateKey.from_raw(self._store.unseal_private(self._need_login(), container, usage))
        if key.public_key != SM2PublicKey.from_der(self._store.public_der(container, usage)):
            raise KeystoreCorrupted(f"the {usage.value} key pair of {container!r} does not match")
        return key

    @serialized
    def sign(self, container: str, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
        return self._private_key(container, KeyUsage.SIGN).sign(message, signer_id=signer_id)

    @serialized
    def sign_digest(self, container: str, digest: bytes) -> bytes:
        return self._private_key(container, KeyUsage.SIGN).sign_digest(digest)

    @serialized
    def import_enveloped_key(self, container: str, envelope: EnvelopedKey) -> None:
        material = self._need_login()
        encryption_key = envelope.open(self._private_key(container, KeyUsage.SIGN))
        self._store.store_key(
            material, container, KeyUsage.ENCRYPT, encryption_key.public_key.to_der(), encryption_key.to_raw()
        )

    @serialized
    def decrypt(self, container: str, ciphertext: bytes) -> bytes:
        return self._private_key(container, KeyUsage.ENCRYPT).decrypt(ciphertext)

    # -- encryption-key history and backups ------------------------------------------------
    @serialized
    def retire_container(self, name: str) -> None:
        """Remove a replaced container but keep its encryption key pair as history (证书更新/证书换发)."""
        self._need_login()
        self._store.retire_container(name)

    @serialized
    def history(self) -> List[HistoricKey]:
        return [
            HistoricKey(
                item.container,
                item.key.public,
                None if item.key.certificate is None else Certificate.from_der(item.key.certificate),
                item.retired,
            )
            for item in self._store.history()
        ]

    @serialized
    def decrypt_any(self, ciphertext: bytes) -> Tuple[bytes, str]:
        """Decrypt an SM2 ciphertext with whichever encryption key fits, current ones first, then history.

        GM/T 0009 ciphertexts do not name their key; C3 (SM3 over the plaintext and the shared point) tells
        which key fits. Returns the plaintext and where the key lives (the container name).
        """
        material = self._need_login()
        candidates: List[Tuple[str, SM2PrivateKey]] = []
        for name, entry in sorted(self._store.containers().items()):
            if entry.encrypt is not None:
                candidates.append((name, self._private_key(name, KeyUsage.ENCRYPT)))
        for item in reversed(self._store.history()):  # newest first
            candidates.append((item.container, SM2PrivateKey.from_raw(self._store.unseal_history(material, item))))
        if not candidates:
            raise NotFound("this keystore holds no encryption key")
        for name, key in candidates:
            try:
                return key.decrypt(ciphertext), name
            except DecryptionError:
                continue
        raise DecryptionError("none of this keystore's encryption keys (current or earlier) opens this ciphertext")

    @serialized
    def export_keys(self) -> List[ExportedKey]:
        """Every private key with its certificate, history included, for a backup. Needs login."""
        material = self._need_login()
        result: List[ExportedKey] = []
        for name, entry in sorted(self._store.containers().items()):
            for usage in KeyUsage:
                key_entry = entry.key(usage)
                if key_entry is None:
                    continue
                cert = None if key_entry.certificate is None else Certificate.from_der(key_entry.certificate)
                result.append(ExportedKey(name, usage, self._private_key(name, usage), cert))
        for item in self._store.history():
            key = SM2PrivateKey.from_raw(self._store.unseal_history(material, item))
            cert = None if item.key.certificate is None else Certificate.from_der(item.key.certificate)
            result.append(ExportedKey(item.container, KeyUsage.ENCRYPT, key, cert, item.retired))
        return result

    @serialized
    def import_key_pair(self, container: str, usage: KeyUsage, key: SM2PrivateKey) -> None:
        """Store a key pair restored from a backup (soft keystores only)."""
        material = self._need_login()
        self._store.store_key(material, container, usage, key.public_key.to_der(), key.to_raw())

    @serialized
    def add_history(self, container: str, key: SM2PrivateKey, certificate: Optional[Certificate], retired: int) -> bool:
        """Keep an earlier encryption key pair (from a backup or the KMC); False when it is already here."""
        if certificate is not None and certificate.public_key != key.public_key:
            raise KeyMismatch("this certificate is not for the earlier encryption key")
        der = None if certificate is None else certificate.to_der()
        return self._store.add_history(
            self._need_login(), container, key.public_key.to_der(), key.to_raw(), der, retired
        )

    @serialized
    def import_enveloped_history(
        self, container: str, label: str, envelope: EnvelopedKey, certificate: Certificate, retired: int
    ) -> bool:
        """Keep an earlier encryption key the KMC enveloped to ``container``'s signing key, as history."""
        self._need_login()
        key = envelope.open(self._private_key(container, KeyUsage.SIGN))
        return self.add_history(label, key, certificate, retired)

    # -- certificates ----------------------------------------------------------------------
    @serialized
    def write_certificate(self, container: str, usage: KeyUsage, certificate: CertificateInput) -> None:
        self._need_login()
        cert = as_certificate(certificate)
        if cert.public_key != SM2PublicKey.from_der(self._store.public_der(container, usage)):
            raise KeyMismatch(f"this certificate is not for the {usage.value} key of {container!r}")
        self._store.set_certificate(container, usage, cert.to_der())

    @serialized
    def read_certificate(self, container: str, usage: KeyUsage) -> Optional[Certificate]:
        der = self._store.certificate(container, usage)
        return None if der is None else Certificate.from_der(der)

    @serialized
    def delete_certificate(self, container: str, usage: KeyUsage) -> None:
        self._need_login()
        self._store.set_certificate(container, usage, None)


def _check_container_name(name: str) -> None:
    if not name or len(name) > 64 or not name.isprintable():
        raise ValueError("a container name is 1-64 printable characters")
