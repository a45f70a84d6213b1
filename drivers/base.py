"""The interface every backend implements: Backend -> Device -> session (a context manager).

What a device can do is said by the type of its session, not by methods that raise NotSupported:

- ``PinSession``: PIN status, login, change, unblock, admin-credential rotation. Every device opens at
  least this; a PC/SC card whose keys we do not reach (we only manage its PIN) opens only this.
- ``KeySession(PinSession)``: containers, on-device key generation, signatures, decryption and
  certificates. A ``KeyDevice`` opens one (PKCS#11 tokens).
- ``EnvelopedKeySession(KeySession)``: also imports the escrowed encryption key pair enveloped for a
  container's signing key (GM/T 0009 SM2EnvelopedKey, SKF_ImportECCKeyPair): the whole dual-certificate
  life cycle. The soft keystore is one; an SKF backend is one.

Within a type, mechanism-level abilities (SM2 on a PKCS#11 token exists only when its vendor profile
names mechanisms its module offers) are declared in ``DeviceInfo.capabilities``: callers ask
``device.info.supports(capability)`` before use, and a backend lacking one refuses up front with
:class:`~drivers.errors.NotSupported`, never half-way. Every session method runs under the device's
operation lock, so one operation is in flight per device and sessions may be used from worker threads.

A full-featured backend (for example SKF, GM/T 0016) implements:

- a ``Backend``: ``name``, ``devices()`` (cheap: discovery imports no crypto and powers nothing up;
  raise DriverUnavailable when the backend cannot run) and ``status()`` (never raises);
- a ``KeyDevice`` whose ``DeviceInfo`` declares its capabilities (SM2_KEYGEN, SM2_SIGN, SM2_SIGN_DIGEST,
  SM2_IMPORT_ENVELOPED, SM2_DECRYPT, PIN_CHANGE, PIN_UNBLOCK, PIN_RETRY_INFO, ADMIN_ROTATE) and whose
  ``open()`` returns
- an ``EnvelopedKeySession`` with every abstract method below: ``close``, ``pin_info``, ``logged_in``,
  ``login``, ``logout``, ``change_pin``, ``unblock_pin``, ``rotate_admin_credential``; ``containers``,
  ``create_container``, ``delete_container``, ``generate_key``, ``public_key_der``, ``sign``,
  ``sign_digest``, ``decrypt``, ``write_certificate`` (raises KeyMismatch for a certificate that is not
  for the key), ``read_certificate``, ``delete_certificate``; ``import_enveloped_key``.
  Methods are decorated with ``@serialized``; every PIN goes through ``check_pin_format`` and every PIN
  being set through ``check_new_pin`` (drivers.pins) before the device is called; native codes map to
  drivers.errors through one table per driver.
"""

from __future__ import annotations

import abc
import functools
import secrets
import string
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence, Tuple, TypeVar, Union, cast

from drivers.errors import DriverError
from drivers.model import ContainerInfo, DeviceInfo, KeyAlgorithm, KeyUsage, PinInfo, PinPolicy
from drivers.pins import check_new_pin, check_pin_format
from gm.curve import DEFAULT_SIGNER_ID

if TYPE_CHECKING:
    from gm.envelope import EnvelopedKey
    from gm.sm2 import SM2PublicKey
    from gm.x509 import Certificate

__all__ = [
    "Backend",
    "BackendStatus",
    "CertificateInput",
    "Device",
    "EnvelopedKeySession",
    "KeyDevice",
    "KeySession",
    "PinSession",
    "as_certificate",
    "check_new_pin",
    "check_pin_format",
    "serialized",
]

F = TypeVar("F", bound=Callable[..., Any])
ADMIN_CREDENTIAL_ALPHABET = string.ascii_letters + string.digits
ADMIN_CREDENTIAL_LENGTH = 16


def serialized(method: F) -> F:
    """Run a session method under its device's operation lock."""

    @functools.wraps(method)
    def wrapper(self: PinSession, *args: Any, **kwargs: Any) -> Any:
        with self.device.op_lock:
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


@dataclass(frozen=True)
class BackendStatus:
    name: str
    available: bool
    detail: str  # what is loaded / running, or what is wrong and how to fix it

    @classmethod
    def of_libraries(cls, name: str, noun: str, loaders: Sequence[Tuple[str, Callable[[], object]]]) -> BackendStatus:
        """Each (path, load) of a backend's native libraries loaded: available when one loads; the detail
        names the ``noun`` ("modules", "libraries") loaded and why the others failed."""
        loaded, failed = [], []
        for path, load in loaders:
            try:
                load()
                loaded.append(path)
            except DriverError as exc:
                failed.append(str(exc))
        detail = f"{noun} loaded: {', '.join(loaded) or 'none'}"
        if failed:
            detail += f"; failed: {'; '.join(failed)}"
        return cls(name, bool(loaded), detail)


class Device(abc.ABC):
    """A device with a PIN. ``open()`` says by its return type what else it can do."""

    def __init__(self, info: DeviceInfo) -> None:
        self.info = info
        self.op_lock = threading.RLock()

    @abc.abstractmethod
    def open(self) -> PinSession:
        """Open a session on the device's application (not yet logged in)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.info.label!r}, serial={self.info.serial!r})"


class KeyDevice(Device):
    """A device that holds containers with keys and certificates."""

    @abc.abstractmethod
    def open(self) -> KeySession: ...


class Backend(abc.ABC):
    name: str = ""

    @abc.abstractmethod
    def devices(self) -> List[Device]:
        """Every device this backend can see now. Raises DriverUnavailable when the backend cannot run."""

    @abc.abstractmethod
    def status(self) -> BackendStatus:
        """A one-line health report for diagnostics; never raises."""


CertificateInput = Union["Certificate", bytes]


class PinSession(abc.ABC):
    """An open session on one device: its user PIN and admin credential. Closing logs out."""

    def __init__(self, device: Device) -> None:
        self.device = device

    def __enter__(self) -> PinSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def policy(self) -> PinPolicy:
        return self.device.info.pin_policy

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
    def change_pin(self, old_pin: str, new_pin: str) -> None:
        """Raises PinTooWeak / PinLengthInvalid for a new PIN that may not be set, before any device call."""

    @abc.abstractmethod
    def unblock_pin(self, admin_credential: str, new_pin: str) -> None:
        """Set a new user PIN with the admin credential and reset the retry counter."""

    def pin_is_default(self, admin: bool = False) -> Optional[bool]:
        """Whether the device says the PIN is still its factory default; None when it does not say."""
        return None

    def admin_default(self) -> Optional[str]:
        """The admin credential the device's vendor documents as its factory value (from its profile), if any.

        Callers try it at most once per device: an admin credential locks after a few wrong tries too."""
        return None

    def new_admin_credential(self) -> str:
        """A fresh random admin credential this device accepts (letters and digits within its PIN bounds).

        Callers that must never lose it record it durably first and pass it to ``rotate_admin_credential``."""
        length = max(self.policy.min_length, min(ADMIN_CREDENTIAL_LENGTH, self.policy.max_length))
        return "".join(secrets.choice(ADMIN_CREDENTIAL_ALPHABET) for _ in range(length))

    @abc.abstractmethod
    def rotate_admin_credential(self, current: Optional[str] = None, new: Optional[str] = None) -> str:
        """Install a fresh admin credential (``new``, else a random one) and return it, for escrow at the issuing
        service. ``current`` is the credential it replaces where the device needs it."""


class KeySession(PinSession):
    """A session that also reaches containers, keys and certificates."""

    def __enter__(self) -> KeySession:
        return self

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
        from gm.sm2 import SM2PublicKey

        return SM2PublicKey.from_der(self.public_key_der(container, usage))

    @abc.abstractmethod
    def sign(self, container: str, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
        """SM2-with-SM3 (or ECDSA for generic EC keys) DER signature with the signing key."""

    @abc.abstractmethod
    def sign_digest(self, container: str, digest: bytes) -> bytes: ...

    @abc.abstractmethod
    def decrypt(self, container: str, ciphertext: bytes) -> bytes:
        """Decrypt a GM/T 0009 SM2 ciphertext with the encryption key."""

    @abc.abstractmethod
    def write_certificate(self, container: str, usage: KeyUsage, certificate: CertificateInput) -> None:
        """Store a certificate; raises KeyMismatch for one whose public key is not the container's key of
        that usage."""

    @abc.abstractmethod
    def read_certificate(self, container: str, usage: KeyUsage) -> Optional[Certificate]: ...

    @abc.abstractmethod
    def delete_certificate(self, container: str, usage: KeyUsage) -> None: ...


class EnvelopedKeySession(KeySession):
    """A key session that also imports escrowed encryption keys: the whole dual-certificate life cycle."""

    def __enter__(self) -> EnvelopedKeySession:
        return self

    @abc.abstractmethod
    def import_enveloped_key(self, container: str, envelope: EnvelopedKey) -> None:
        """Import the escrowed encryption key pair, enveloped for this container's signing key."""


def as_certificate(value: CertificateInput) -> Certificate:
    from gm.x509 import Certificate

    return value if isinstance(value, Certificate) else Certificate.load(value)
