"""Soft keystore backend: every ``*.cks`` file in the keystore folder is one soft device.

Listing keystores reads their files only (no keyring, no crypto); opening one loads the session.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import platformdirs

from drivers.base import Backend, BackendStatus, Device, KeyDevice, KeySession, check_new_pin
from drivers.errors import DriverError, KeystoreCorrupted
from drivers.model import Capability, DeviceInfo, DeviceKind, PinPolicy
from drivers.soft.state import decode_document, list_keystores, state_from_document

if TYPE_CHECKING:
    from drivers.soft.device_secret import DeviceSecrets
    from drivers.soft.keystore import Keystore
    from drivers.soft.session import SoftSession

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
        self.secrets_file = secrets_file or default_secrets_file()
        self.kdf = kdf
        self._secrets: Optional[DeviceSecrets] = None

    @property
    def secrets(self) -> DeviceSecrets:
        """The keyring records (loaded on first use: listing keystores does not need the keyring)."""
        if self._secrets is None:
            from drivers.soft.device_secret import DeviceSecrets

            self._secrets = DeviceSecrets(self.secrets_file)
        return self._secrets

    def devices(self) -> List[Device]:
        result: List[Device] = []
        for path in list_keystores(self.directory):
            try:
                state = state_from_document(decode_document(path.read_bytes(), path.name), path.name)
            except (OSError, DriverError) as exc:
                result.append(BrokenSoftDevice(path, str(exc)))
                continue
            result.append(SoftDevice(self, path, state.label, state.policy))
        return result

    def create_device(self, label: str, pin: str, confirmation: Optional[str] = None) -> Tuple[SoftDevice, str]:
        """A new soft keystore protected by ``pin``; returns (device, admin secret to escrow)."""
        check_new_pin(pin, confirmation, PinPolicy())
        from drivers.soft.keystore import Keystore

        keystore, admin_secret = Keystore.create(self.directory, label, pin, self.secrets, self.kdf)
        state = keystore.read()
        return SoftDevice(self, keystore.path, state.label, state.policy), admin_secret

    def status(self) -> BackendStatus:
        count = len(list_keystores(self.directory))
        return BackendStatus(
            self.name, True, f"{count} keystore(s) in {self.directory}; device secrets in {self.secrets.backend_name}"
        )


class SoftDevice(KeyDevice):
    def __init__(self, backend: SoftBackend, path: Path, label: str, policy: PinPolicy) -> None:
        super().__init__(
            DeviceInfo(
                backend="soft",
                device_id=f"soft:{path.stem}",
                kind=DeviceKind.SOFT,
                label=label,
                serial=path.stem,
                manufacturer=MANUFACTURER,
                model="Soft keystore",
                capabilities=SOFT_CAPABILITIES,
                pin_policy=policy,
                detail=str(path),
            )
        )
        self.path = path
        self._backend = backend
        self._keystore: Optional[Keystore] = None

    @property
    def keystore(self) -> Keystore:
        if self._keystore is None:
            from drivers.soft.keystore import Keystore

            self._keystore = Keystore(self.path, self._backend.secrets)
        return self._keystore

    def open(self) -> SoftSession:
        from drivers.soft.session import SoftSession

        return SoftSession(self, self.keystore)

    def destroy(self) -> None:
        with self.op_lock:
            self.keystore.destroy()


class BrokenSoftDevice(KeyDevice):
    """A keystore file that cannot be read: listed (so diagnostics show it); opening it says why."""

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

    def open(self) -> KeySession:
        raise KeystoreCorrupted(f"{self.info.label} cannot be opened: {self.info.detail}")
