"""Soft keystore backend: every ``*.cks`` file in the keystore folder is one soft device."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import platformdirs

from drivers.base import (
    Backend,
    BackendStatus,
    CertificateInput,
    Device,
    Session,
    as_certificate,
    check_new_pin,
    check_pin_format,
    serialized,
)
from drivers.errors import KeystoreCorrupted, NotFound, NotLoggedIn, NotSupported
from drivers.model import (
    Capability,
    ContainerInfo,
    DeviceInfo,
    DeviceKind,
    KeyAlgorithm,
    KeyUsage,
    PinInfo,
    PinPolicy,
)
from drivers.soft.device_secret import DeviceSecrets
from drivers.soft.keystore import KeyMaterial, Keystore, list_keystores
from gm.envelope import EnvelopedKey
from gm.sm2 import DEFAULT_SIGNER_ID, SM2PrivateKey, SM2PublicKey
from gm.x509 import Certificate

HOME_ENV = "CERTASSIST_HOME"
MANUFACTURER = "CertAssist"
SOFT_CAPABILITIES = frozenset(
    {
        Capability.SM2_KEYGEN,
        Capability.SM2_SIGN,
        Capability.SM2_SIGN_DIGEST,
        Capability.SM2_IMPORT_ENVELOPED,
        Capability.SM2_DECRYPT,
        Capability.SM3,
        Capability.SM4,
        Capability.CERTIFICATES,
        Capability.PIN_CHANGE,
        Capability.PIN_UNBLOCK,
        Capability.PIN_RETRY_INFO,
        Capability.ADMIN_ROTATE,
    }
)


def certassist_home() -> Path:
    """``CERTASSIST_HOME`` when set (tests, portable installs), else the platform's per-user data dir."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir("CertAssist", appauthor=False))


def default_keystore_dir() -> Path:
    return certassist_home() / "keystores"


def default_secrets_file() -> Path:
    override = os.environ.get(HOME_ENV)
    base = Path(override) / "secrets" if override else Path(platformdirs.user_config_dir("CertAssist", appauthor=False))
    return base / "device-secrets.json"


class SoftBackend(Backend):
    name = "soft"

    def __init__(
        self,
        directory: Optional[Path] = None,
        secrets_file: Optional[Path] = None,
        kdf: Optional[Dict[str, Any]] = None,
    ) -> None:
        """``kdf`` overrides the scrypt parameters of *new* keystores (tests use cheaper ones)."""
        self.directory = directory or default_keystore_dir()
        self.secrets = DeviceSecrets(secrets_file or default_secrets_file())
        self.kdf = kdf

    def devices(self) -> List[Device]:
        result: List[Device] = []
        for path in list_keystores(self.directory):
            keystore = Keystore(path, self.secrets)
            try:
                state = keystore.read()
            except Exception as exc:
                result.append(BrokenSoftDevice(path, str(exc)))
                continue
            result.append(SoftDevice(keystore, state["label"], keystore.policy(state)))
        return result

    def create_device(self, label: str, pin: str, confirmation: Optional[str] = None) -> Tuple[SoftDevice, str]:
        """A new soft keystore protected by ``pin``; returns (device, admin secret to escrow)."""
        check_new_pin(pin, confirmation, PinPolicy())
        keystore, admin_secret = Keystore.create(self.directory, label, pin, self.secrets, self.kdf)
        state = keystore.read()
        return SoftDevice(keystore, state["label"], keystore.policy(state)), admin_secret

    def status(self) -> BackendStatus:
        count = len(list_keystores(self.directory))
        return BackendStatus(
            self.name, True, f"{count} keystore(s) in {self.directory}; device secrets in {self.secrets.backend_name}"
        )


class SoftDevice(Device):
    def __init__(self, keystore: Keystore, label: str, policy: PinPolicy) -> None:
        super().__init__(
            DeviceInfo(
                backend="soft",
                device_id=f"soft:{keystore.keystore_id}",
                kind=DeviceKind.SOFT,
                label=label,
                serial=keystore.keystore_id,
                manufacturer=MANUFACTURER,
                model="Soft keystore",
                capabilities=SOFT_CAPABILITIES,
                pin_policy=policy,
                detail=str(keystore.path),
            )
        )
        self.keystore = keystore

    def open(self) -> SoftSession:
        return SoftSession(self)

    def destroy(self) -> None:
        with self.op_lock:
            self.keystore.destroy()


class BrokenSoftDevice(Device):
    """A keystore file that cannot be read: listed (so diagnostics show it), never opened."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            DeviceInfo(
                backend="soft",
                device_id=f"soft:{path.stem}",
                kind=DeviceKind.SOFT,
                label=path.name,
                serial=path.stem,
                manufacturer=MANUFACTURER,
                model="Soft keystore (unreadable)",
                detail=problem,
            )
        )

    def open(self) -> Session:
        raise NotSupported(f"opening {self.info.label}: {self.info.detail}")


class SoftSession(Session):
    device: SoftDevice

    def __init__(self, device: SoftDevice) -> None:
        super().__init__(device)
        self._material: Optional[KeyMaterial] = None

    @property
    def _store(self) -> Keystore:
        return self.device.keystore

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
    def rotate_admin_credential(self, current: Optional[str] = None) -> str:
        return self._store.rotate_admin(self._need_login())

    # -- containers and keys ---------------------------------------------------------------
    @serialized
    def containers(self) -> List[ContainerInfo]:
        result = []
        for name, entry in sorted(self._store.containers().items()):
            sign, enc = entry.get("sign") or {}, entry.get("encrypt") or {}
            result.append(
                ContainerInfo(
                    name=name,
                    has_sign_key=bool(sign),
                    has_encrypt_key=bool(enc),
                    has_sign_certificate=bool(sign.get("certificate")),
                    has_encrypt_certificate=bool(enc.get("certificate")),
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

    # -- certificates ----------------------------------------------------------------------
    @serialized
    def write_certificate(self, container: str, usage: KeyUsage, certificate: CertificateInput) -> None:
        self._need_login()
        cert = as_certificate(certificate)
        if cert.public_key != SM2PublicKey.from_der(self._store.public_der(container, usage)):
            raise NotFound(f"this certificate is not for the {usage.value} key of {container!r}")
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
