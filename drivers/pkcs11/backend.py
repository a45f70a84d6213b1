"""Which PKCS#11 modules to load, and the backend that lists their tokens.

Importing this loads no PKCS#11 library and not python-pkcs11: that happens in drivers.pkcs11.driver, the
first time a module file that exists here is enumerated. A build without python-pkcs11 (the Windows 7
package: python-pkcs11 has no Windows build for Python 3.8) reports the backend unavailable and says why.
"""

from __future__ import annotations

import os
from functools import partial
from typing import List, Optional, Sequence, Set

from drivers.base import Backend, BackendStatus, Device
from drivers.errors import DriverUnavailable
from drivers.profiles import ProfileSet

NOT_IN_THIS_BUILD = (
    "PKCS#11 is not part of this build: python-pkcs11 has no Windows build for Python 3.8 (the Windows 7 package)",
    "use the USB key's SKF driver, or on Windows 10/11 the standard package (certassist-<version>-x64.msi)",
)


def python_pkcs11_available() -> bool:
    try:
        import drivers.pkcs11.driver  # noqa: F401 - imports python-pkcs11
    except ModuleNotFoundError as exc:
        if exc.name != "pkcs11":
            raise
        return False
    return True


def load_module(path: str) -> object:
    """drivers.pkcs11.driver.load_module, or DriverUnavailable (with the reason) in a build without python-pkcs11."""
    if not python_pkcs11_available():
        raise DriverUnavailable(*NOT_IN_THIS_BUILD)
    from drivers.pkcs11.driver import load_module as load

    return load(path)


class Pkcs11Backend(Backend):
    name = "pkcs11"

    def __init__(self, modules: Sequence[str] = (), profiles: Optional[ProfileSet] = None) -> None:
        self.profiles = profiles or ProfileSet.load()
        self.explicit_modules = list(modules)
        self.problems: List[str] = []

    def module_paths(self) -> List[str]:
        """Explicit modules first, then the profiles' modules that exist here; each file once."""
        paths: List[str] = []
        seen: Set[str] = set()
        candidates = [*self.explicit_modules, *(c for _p, c in self.profiles.module_candidates() if os.path.exists(c))]
        for path in candidates:
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                paths.append(path)
        return paths

    def devices(self) -> List[Device]:
        paths = self.module_paths()
        self.problems = []
        if not paths:
            return []
        if not python_pkcs11_available():
            raise DriverUnavailable(*NOT_IN_THIS_BUILD)
        from drivers.pkcs11.driver import module_devices

        result: List[Device] = []
        for path in paths:
            result.extend(module_devices(path, self.profiles, self.problems))
        return result

    def status(self) -> BackendStatus:
        if not python_pkcs11_available():
            return BackendStatus(self.name, False, str(DriverUnavailable(*NOT_IN_THIS_BUILD)))
        paths = self.module_paths()
        if not paths:
            return BackendStatus(
                self.name, False, "no PKCS#11 module found; install the token driver or add one in settings"
            )
        return BackendStatus.of_libraries(self.name, "modules", [(path, partial(load_module, path)) for path in paths])
