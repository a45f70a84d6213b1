"""The one interface every backend implements: Backend -> Device -> Session (a context manager).

Callers ask ``device.info.supports(capability)`` before using an optional operation; a backend that
lacks one raises :class:`~drivers.errors.NotSupported` up front, never half-way. Every session method
runs under the device's operation lock, so one operation is in flight per device and sessions may be
used from worker threads.
"""

from __future__ import annotations

import abc
import functools
import threading
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, TypeVar, Union, cast

from drivers.errors import PinLengthInvalid, PinMismatch
from drivers.model import ContainerInfo, DeviceInfo, KeyAlgorithm, KeyUsage, PinInfo, PinPolicy
from gm.envelope import EnvelopedKey
from gm.sm2 import DEFAULT_SIGNER_ID, SM2PublicKey
from gm.x509 import Certificate

F = TypeVar("F", bound=Callable[..., Any])


def check_pin_format(pin: str, policy: PinPolicy) -> None:
    """Refuse a PIN of the wrong length before any device call (and so before any retry is spent)."""
    if not isinstance(pin, str) or not (policy.min_length <= len(pin) <= policy.max_length):
        raise PinLengthInvalid(policy.min_length, policy.max_length)


def check_new_pin(new_pin: str, confirmation: Optional[str], policy: PinPolicy) -> None:
    check_pin_format(new_pin, policy)
    if confirmation is not None and confirmation != new_pin:
        raise PinMismatch()


def serialized(method: F) -> F:
    """Run a session method under its device's operation lock."""

    @functools.wraps(method)
    def wrapper(self: Session, *args: Any, **kwargs: Any) -> Any:
        with self.device.op_lock:
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


@dataclass(frozen=True)
class BackendStatus:
    name: str
    available: bool
    detail: str  # what is loaded / running, or what is wrong and how to fix it


class Device(abc.ABC):
    def __init__(self, info: DeviceInfo) -> None:
        self.info = info
        self.op_lock = threading.RLock()

    @abc.abstractmethod
    def open(self) -> Session:
        """Open a session on the device's application (not yet logged in)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.info.label!r}, serial={self.info.serial!r})"


class Backend(abc.ABC):
    name: str = ""

    @abc.abstractmethod
    def devices(self) -> List[Device]:
        """Every device this backend can see now. Raises DriverUnavailable when the backend cannot run."""

    @abc.abstractmethod
    def status(self) -> BackendStatus:
        """A one-line health report for diagnostics; never raises."""


CertificateInput = Union[Certificate, bytes]


class Session(abc.ABC):
    """An open session on one device. Use as a context manager; closing logs out."""

    def __init__(self, device: Device) -> None:
        self.device = device

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def policy(self) -> PinPolicy:
        return self.device.info.pin_policy

    # -- lifecycle and PINs ----------------------------------------------------------------
    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def pin_info(self, admin: bool = False) -> PinInfo: ...

    @property
    @abc.abstractmethod
    def logged_in(self) -> bool: ...

    @abc.abstractmethod
    def login(self, pin: str) -> None:
        """Verify the user PIN. Raises PinIncorrect(retries_left), PinLocked or PinLengthInvalid."""

    @abc.abstractmethod
    def logout(self) -> None: ...

    @abc.abstractmethod
    def change_pin(self, old_pin: str, new_pin: str) -> None: ...

    @abc.abstractmethod
    def unblock_pin(self, admin_credential: str, new_pin: str) -> None:
        """Set a new user PIN with the admin credential and reset the retry counter."""

    @abc.abstractmethod
    def rotate_admin_credential(self, current: Optional[str] = None) -> str:
        """Install a fresh random admin credential and return it, for escrow at the issuing service."""

    # -- containers and keys ---------------------------------------------------------------
    @abc.abstractmethod
    def containers(self) -> List[ContainerInfo]: ...

    @abc.abstractmethod
    def create_container(self, name: str) -> None: ...

    @abc.abstractmethod
    def delete_container(self, name: str) -> None: ...

    @abc.abstractmethod
    def generate_key(self, container: str, algorithm: KeyAlgorithm = KeyAlgorithm.SM2) -> bytes:
        """Generate the signing key pair on the device; return its SubjectPublicKeyInfo (DER).

        Replaces the container's signing key. Needs login.
        """

    @abc.abstractmethod
    def public_key_der(self, container: str, usage: KeyUsage = KeyUsage.SIGN) -> bytes: ...

    def public_key(self, container: str, usage: KeyUsage = KeyUsage.SIGN) -> SM2PublicKey:
        return SM2PublicKey.from_der(self.public_key_der(container, usage))

    @abc.abstractmethod
    def sign(self, container: str, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
        """SM2-with-SM3 (or ECDSA for generic EC keys) DER signature with the signing key."""

    @abc.abstractmethod
    def sign_digest(self, container: str, digest: bytes) -> bytes: ...

    @abc.abstractmethod
    def import_enveloped_key(self, container: str, envelope: EnvelopedKey) -> None:
        """Import the escrowed encryption key pair, enveloped for this container's signing key."""

    @abc.abstractmethod
    def decrypt(self, container: str, ciphertext: bytes) -> bytes:
        """Decrypt a GM/T 0009 SM2 ciphertext with the encryption key."""

    # -- certificates ----------------------------------------------------------------------
    @abc.abstractmethod
    def write_certificate(self, container: str, usage: KeyUsage, certificate: CertificateInput) -> None:
        """Store a certificate; refuses one whose public key is not the container's key of that usage."""

    @abc.abstractmethod
    def read_certificate(self, container: str, usage: KeyUsage) -> Optional[Certificate]: ...

    @abc.abstractmethod
    def delete_certificate(self, container: str, usage: KeyUsage) -> None: ...


def as_certificate(value: CertificateInput) -> Certificate:
    return value if isinstance(value, Certificate) else Certificate.load(value)
