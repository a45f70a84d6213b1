"""All backends together: discovery across soft keystores, PKCS#11 tokens, PC/SC cards and SKF libraries."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from drivers.base import Backend, Device
from drivers.errors import DriverError, NotFound
from drivers.pcsc import PcscBackend
from drivers.pkcs11 import Pkcs11Backend
from drivers.profiles import ProfileSet
from drivers.skf import SkfBackend
from drivers.soft import SoftBackend
from drivers.soft.driver import certassist_home


@dataclass
class Discovery:
    devices: List[Device]
    problems: Dict[str, str] = field(default_factory=dict)  # backend name -> what is wrong and how to fix it
    seconds: Dict[str, float] = field(default_factory=dict)  # backend name -> time spent enumerating


def user_profiles_dir() -> Path:
    return certassist_home() / "profiles"


def default_backends(
    pkcs11_modules: Sequence[str] = (), profiles: Optional[ProfileSet] = None, skf_modules: Sequence[str] = ()
) -> List[Backend]:
    profiles = profiles or ProfileSet.load(user_profiles_dir())
    return [
        SoftBackend(),
        Pkcs11Backend(pkcs11_modules, profiles),
        PcscBackend(profiles),
        SkfBackend(skf_modules, profiles),
    ]


def discover(backends: Sequence[Backend]) -> Discovery:
    """Every device of every backend; a backend that cannot run is reported, never fatal."""
    result = Discovery([])
    for backend in backends:
        start = time.perf_counter()
        try:
            result.devices.extend(backend.devices())
        except DriverError as exc:
            result.problems[backend.name] = str(exc)
        extra = getattr(backend, "problems", None)
        if extra:
            result.problems[backend.name] = "; ".join(extra)
        result.seconds[backend.name] = time.perf_counter() - start
    return result


def select_device(devices: Sequence[Device], selector: Optional[str]) -> Device:
    """By device id, serial or label; without a selector, the only device there is."""
    if selector is None:
        if len(devices) == 1:
            return devices[0]
        if not devices:
            raise NotFound("no certificate device found: insert the USB key or create a soft certificate")
        names = ", ".join(f"{d.info.label!r} ({d.info.device_id})" for d in devices)
        raise NotFound(f"{len(devices)} devices found, choose one with --device: {names}")
    for attr in ("device_id", "serial", "label"):
        matches = [d for d in devices if getattr(d.info, attr) == selector]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise NotFound(f"{selector!r} names {len(matches)} devices; use the device id")
    raise NotFound(f"no device {selector!r}; `certassist token list` shows what is there")
