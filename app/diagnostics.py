"""One report of everything that decides whether certificates work on this computer.

Used by ``certassist diag`` and by the tray's 环境修复. Plain data (JSON-ready); no Qt, no click.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any, Dict, List, Sequence, cast

from drivers.base import Backend, Device, KeySession
from drivers.errors import DriverError
from drivers.model import Capability, KeyUsage
from drivers.pcsc import PcscBackend, list_readers
from drivers.pkcs11 import Pkcs11Backend
from drivers.profiles import SymmetricMechanisms
from drivers.registry import discover
from drivers.skf import SkfBackend
from drivers.skf.report import library_report
from drivers.soft import SoftBackend

if TYPE_CHECKING:  # python-pkcs11 is not in every build (the Windows 7 package has none)
    from drivers.pkcs11.driver import Pkcs11Device


def _certificate(cert: Any, usage: KeyUsage) -> Dict[str, Any]:
    return {
        "usage": usage.value,
        "subject": cert.subject_text,
        "issuer": cert.issuer_text,
        "serial": f"{cert.serial_number:X}",
        "not_after": cert.not_after.isoformat(),
        "days_left": cert.days_left(),
    }


def _containers(session: KeySession) -> List[Dict[str, Any]]:
    containers = []
    for container in session.containers():
        certs = []
        for usage in KeyUsage:
            cert = session.read_certificate(container.name, usage)
            if cert is not None:
                certs.append(_certificate(cert, usage))
        containers.append(
            {
                "name": container.name,
                "sign_key": container.has_sign_key,
                "encrypt_key": container.has_encrypt_key,
                "certificates": certs,
            }
        )
    return containers


def device_report(device: Device) -> Dict[str, Any]:
    info = device.info
    entry: Dict[str, Any] = {
        "backend": info.backend,
        "id": info.device_id,
        "kind": info.kind.value,
        "label": info.label,
        "serial": info.serial,
        "manufacturer": info.manufacturer,
        "model": info.model,
        "detail": info.detail,
        "capabilities": sorted(c.value for c in info.capabilities),
        "pin_bounds": [info.pin_policy.min_length, info.pin_policy.max_length],
    }
    try:
        with device.open() as session:
            if info.supports(Capability.PIN_RETRY_INFO) or info.backend == "pkcs11":
                pin = session.pin_info()
                entry["pin"] = {
                    "max_retries": pin.max_retries,
                    "remaining": pin.remaining,
                    "locked": pin.locked,
                    "low": pin.low,
                }
            entry["containers"] = _containers(session) if isinstance(session, KeySession) else []
    except DriverError as exc:
        entry["error"] = f"{exc} [{exc.raw_code_text}]"
    return entry


def _pkcs11_slot(device: Pkcs11Device) -> Dict[str, Any]:
    profile = device.profile
    mech = device.mechanisms
    extra = profile.mechanisms if profile else SymmetricMechanisms()
    return {
        "module": device.module.path,
        "slot_id": int(device.slot.slot_id),
        "label": device.info.label,
        "manufacturer": device.info.manufacturer,
        "profile": profile.id if profile else None,
        "sm2": device.info.supports(Capability.SM2_SIGN),
        "sm3": extra.sm3 in mech,
        "sm4": any(m in mech for m in extra.sm4()),
        "ec": device.info.supports(Capability.EC_SIGN),
        "mechanism_count": len(mech),
    }


def build_report(backends: Sequence[Backend]) -> Dict[str, Any]:
    started = time.perf_counter()
    found = discover(backends)
    report: Dict[str, Any] = {"backends": {}, "devices": [], "problems": found.problems}
    if sys.platform == "win32":  # PC/SC on Windows is the Smart Card service
        from app.platform.windows import service_state

        report["smart_card_service"] = service_state()
    for backend in backends:
        status = backend.status()
        section: Dict[str, Any] = {"available": status.available, "detail": status.detail}
        if isinstance(backend, PcscBackend) and status.available:
            try:
                section["readers"] = [
                    {
                        "name": r.name,
                        "card_present": r.card_present,
                        "atr": r.atr.hex(" ").upper(),
                        "profile": (p.id if (p := backend.profiles.for_atr(r.atr)) else None)
                        if r.card_present
                        else None,
                    }
                    for r in list_readers()
                ]
            except DriverError as exc:
                section["readers_error"] = str(exc)
        if isinstance(backend, Pkcs11Backend):
            section["modules"] = backend.module_paths()
            tokens = [cast("Pkcs11Device", d) for d in found.devices if d.info.backend == "pkcs11"]
            section["slots"] = [_pkcs11_slot(d) for d in tokens]
        if isinstance(backend, SoftBackend):
            section["directory"] = str(backend.directory)
        if isinstance(backend, SkfBackend):
            section["libraries"] = library_report(backend)
        section["enumeration_ms"] = round(found.seconds.get(backend.name, 0.0) * 1000, 1)
        report["backends"][backend.name] = section
    report["devices"] = [device_report(d) for d in found.devices]
    report["total_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return report


def expiring(report: Dict[str, Any], days: int = 30) -> List[Dict[str, Any]]:
    """Certificates in a report that expire within ``days`` (for the tray's warnings)."""
    result = []
    for device in report["devices"]:
        for container in device.get("containers", []):
            for cert in container["certificates"]:
                if cert["days_left"] <= days:
                    result.append({**cert, "device": device["label"], "container": container["name"]})
    return result
