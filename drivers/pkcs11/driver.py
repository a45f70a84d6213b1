"""PKCS#11 modules and tokens on python-pkcs11 (imported only when a module is enumerated).

PKCS#11 has no standard SM2 mechanism: SM2 uses the vendor numbers of the matching token profile, and a
token whose module lacks them reports the SM2 capabilities as absent. Sessions: drivers.pkcs11.session.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Dict, FrozenSet, List, Optional, Set

import pkcs11
import pkcs11.exceptions as p11e
from pkcs11 import TokenFlag

from drivers.base import Device, KeyDevice
from drivers.errors import DriverUnavailable
from drivers.model import Capability, DeviceInfo, DeviceKind, PinPolicy
from drivers.pkcs11.errors import map_error
from drivers.pkcs11.session import Pkcs11Session, token_text
from drivers.profiles import ProfileSet, Sm2Mechanisms

CKM_EC_KEY_PAIR_GEN = 0x1040
CKM_ECDSA = 0x1041


class Module:
    """One loaded PKCS#11 library. ``generation`` changes whenever it is re-initialised."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lib = pkcs11.lib(path)
        self.generation = 0
        self.lock = threading.RLock()

    def reinitialize(self) -> None:
        with self.lock:
            self.lib.reinitialize()
            self.generation += 1


_modules: Dict[str, Module] = {}
_modules_lock = threading.Lock()


def load_module(path: str) -> Module:
    real = os.path.realpath(path)
    with _modules_lock:
        module = _modules.get(real)
        if module is None:
            if not os.path.exists(real):
                raise DriverUnavailable(
                    f"PKCS#11 module {path} not found", "install the token's driver or fix the path"
                )
            try:
                module = Module(real)
            except (OSError, RuntimeError, p11e.PKCS11Error) as exc:
                raise DriverUnavailable(
                    f"PKCS#11 module {path} could not be loaded ({exc})", "reinstall the token's driver"
                ) from exc
            _modules[real] = module
        return module


def module_devices(path: str, profiles: ProfileSet, problems: List[str]) -> List[Device]:
    """The initialised tokens of one module; what fails is added to ``problems`` (never raised)."""
    try:
        module = load_module(path)
        slots = module.lib.get_slots(token_present=True)
    except (DriverUnavailable, p11e.PKCS11Error) as exc:
        problems.append(f"{path}: {exc}")
        return []
    result: List[Device] = []
    for slot in slots:
        try:
            token = slot.get_token()
            if not token.flags & TokenFlag.TOKEN_INITIALIZED:
                continue
            result.append(Pkcs11Device(module, slot, token, profiles))
        except p11e.PKCS11Error as exc:
            problems.append(f"{path} slot {slot.slot_id}: {type(exc).__name__}")
    return result


def _capabilities(mechanisms: Set[int], sm2: Optional[Sm2Mechanisms]) -> FrozenSet[Capability]:
    caps = {Capability.PIN_CHANGE, Capability.PIN_UNBLOCK, Capability.ADMIN_ROTATE}
    if CKM_EC_KEY_PAIR_GEN in mechanisms:
        caps.add(Capability.EC_KEYGEN)
    if CKM_ECDSA in mechanisms:
        caps.add(Capability.EC_SIGN)
    if sm2 is not None:
        caps.add(Capability.SM2_KEYGEN)
        if sm2.sign_message_default_id is not None or sm2.sign_digest is not None:
            caps.add(Capability.SM2_SIGN)  # with sign_digest any ID: we compute e = SM3(Z||M)
        if sm2.sign_digest is not None:
            caps.add(Capability.SM2_SIGN_DIGEST)
        if sm2.decrypt is not None:
            caps.add(Capability.SM2_DECRYPT)
    return frozenset(caps)


class Pkcs11Device(KeyDevice):
    def __init__(self, module: Module, slot: Any, token: Any, profiles: ProfileSet) -> None:
        manufacturer = token_text(token.manufacturer_id)
        profile = profiles.for_manufacturer(manufacturer)
        mechanisms = {int(m) for m in slot.get_mechanisms()}
        # The profile's SM2 mechanisms that this module offers (None: no SM2 on this token).
        self.sm2: Optional[Sm2Mechanisms] = profile.sm2.available(mechanisms) if profile and profile.sm2 else None
        caps = _capabilities(mechanisms, self.sm2)
        serial = token_text(token.serial)
        super().__init__(
            DeviceInfo(
                backend="pkcs11",
                device_id=f"pkcs11:{module.path}:{serial}",
                kind=DeviceKind.HARD,
                label=token_text(token.label),
                serial=serial,
                manufacturer=manufacturer,
                model=token_text(token.model),
                capabilities=caps,
                pin_policy=(profile.pin_policy if profile and profile.pin_policy else PinPolicy()),
                detail=f"{module.path} slot {slot.slot_id}" + (f" profile {profile.id}" if profile else ""),
            )
        )
        self.module = module
        self.slot = slot
        self.profile = profile
        self.mechanisms = mechanisms
        # The one PKCS#11 session all views share (see Pkcs11Session), guarded by op_lock.
        self.shared: Any = None
        self.user_logged_in = False
        self.generation = -1
        self.views = 0

    def token(self) -> Any:
        """A freshly fetched token (its flags are current)."""
        try:
            return self.slot.get_token()
        except p11e.PKCS11Error as exc:
            raise map_error(exc, False, self.info.pin_policy) from exc

    def open(self) -> Pkcs11Session:
        return Pkcs11Session(self, self)
