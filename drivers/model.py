"""The domain model shared by every backend (mirrors GM/T 0016 SKF): device -> application -> container.

A device (soft keystore file, PKCS#11 token, PC/SC card) has one application with a user PIN and an
admin credential; the application holds containers, each with a signing key pair + certificate and an
encryption key pair + certificate (the Chinese dual-certificate system).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import FrozenSet, Optional, Tuple

DEFAULT_PIN_MIN = 6
DEFAULT_PIN_MAX = 20
DEFAULT_MAX_RETRIES = 10


class DeviceKind(str, enum.Enum):
    SOFT = "soft"  # 软证书: a keystore file on this computer
    HARD = "hard"  # 硬证书: a USB key / smart card


class Capability(str, enum.Enum):
    """What a device can do beyond what its session type says (``KeySession``: containers, keys and
    certificates; ``EnvelopedKeySession``: importing escrowed keys). Mechanism-level: a PKCS#11 token
    has SM2 only when its vendor profile names mechanisms its module offers."""

    SM2_KEYGEN = "sm2_keygen"
    SM2_SIGN = "sm2_sign"  # sign a message with ID (Z computed on the device or by us)
    SM2_SIGN_DIGEST = "sm2_sign_digest"  # sign a precomputed e = SM3(Z||M)
    SM2_IMPORT_ENVELOPED = "sm2_import_enveloped"  # import an escrowed encryption key pair
    SM2_DECRYPT = "sm2_decrypt"
    EC_KEYGEN = "ec_keygen"  # generic (non-SM2) elliptic-curve keys, e.g. P-256 on SoftHSM2
    EC_SIGN = "ec_sign"
    SM3 = "sm3"
    SM4 = "sm4"
    PIN_CHANGE = "pin_change"
    PIN_UNBLOCK = "pin_unblock"
    PIN_RETRY_INFO = "pin_retry_info"  # the device reports remaining tries
    ADMIN_ROTATE = "admin_rotate"  # the admin credential can be replaced (for escrow)


class KeyUsage(str, enum.Enum):
    SIGN = "sign"
    ENCRYPT = "encrypt"


class KeyAlgorithm(str, enum.Enum):
    SM2 = "sm2"
    EC_P256 = "ec-p256"


class PinWeakness(str, enum.Enum):
    """Why a new PIN is refused as one of the weakest (see drivers.pins)."""

    REPEATED = "repeated"  # one character or a block repeated: 000000, 121212, 123123
    SEQUENCE = "sequence"  # an ascending or descending run: 123456, 654321, abcdef
    COMMON = "common"  # one of the most common PINs: 147258, 5201314, qwerty …


@dataclass(frozen=True)
class PinPolicy:
    min_length: int = DEFAULT_PIN_MIN
    max_length: int = DEFAULT_PIN_MAX
    defaults: Tuple[str, ...] = ()  # the vendor's factory user PINs (its profile), beside drivers.pins.FACTORY_PINS


@dataclass(frozen=True)
class DeviceInfo:
    backend: str  # "soft", "pkcs11", "pcsc"
    device_id: str  # stable across discoveries: backend-specific, unique per machine
    kind: DeviceKind
    label: str
    serial: str
    manufacturer: str
    model: str = ""
    capabilities: FrozenSet[Capability] = field(default_factory=frozenset)
    pin_policy: PinPolicy = field(default_factory=PinPolicy)
    detail: str = ""  # e.g. module path, reader name, keystore file

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities


@dataclass(frozen=True)
class PinInfo:
    max_retries: Optional[int]
    remaining: Optional[int]  # None: the device does not tell
    locked: bool
    low: bool = False  # the device warns that few tries remain


@dataclass(frozen=True)
class ContainerInfo:
    name: str
    has_sign_key: bool
    has_encrypt_key: bool
    has_sign_certificate: bool
    has_encrypt_certificate: bool
