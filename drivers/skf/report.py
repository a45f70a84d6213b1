"""What ``certassist diag`` reports about SKF: each library found, whether it loaded (and how), its devices with
their DEVINFO versions and whether they offer SM2, SM3 and SM4. Plain data, never raises."""

from __future__ import annotations

from typing import Any, Dict, List

from drivers.errors import DriverError
from drivers.skf.backend import SkfBackend
from drivers.skf.device import decode, default_encoding, read_device_info
from drivers.skf.locate import machine_bits


def library_report(backend: SkfBackend) -> List[Dict[str, Any]]:
    result = []
    for candidate in backend.candidates():
        profile = candidate.profile
        entry: Dict[str, Any] = {
            "path": candidate.path,
            "explicit": candidate.explicit,
            "profile": profile.id if profile is not None else None,
            "vendor": profile.vendor if profile is not None else None,
            "loaded": False,
            "devices": [],
        }
        try:
            library = backend.load(candidate)
        except DriverError as exc:
            entry["error"] = str(exc)
            entry["process"] = machine_bits()
            result.append(entry)
            continue
        entry["loaded"] = True
        entry["calling_convention"] = library.convention
        entry["missing_functions"] = library.missing
        encoding = default_encoding(profile, backend.platform)
        try:
            names = library.read_names("SKF_EnumDev", 1)
        except DriverError as exc:
            entry["error"] = f"SKF_EnumDev: {exc}"
            names = []
        for raw in names:
            try:
                entry["devices"].append(read_device_info(library, raw, encoding).as_dict())
            except DriverError as exc:
                entry["devices"].append({"name": decode(raw, encoding), "error": f"{exc} [{exc.raw_code_text}]"})
        result.append(entry)
    return result
