"""Which SKF libraries to load, and the backend that lists their devices.

Importing this loads no SKF library and no crypto: that happens the first time a library file that exists
here is enumerated (drivers.skf.driver), so `certassist token list` stays quick without a USB key driver.
"""

from __future__ import annotations

import sys
from functools import partial
from typing import TYPE_CHECKING, List, Optional, Sequence

from drivers.base import Backend, BackendStatus, Device
from drivers.errors import DriverError
from drivers.profiles import ProfileSet, TokenProfile
from drivers.skf.locate import LibraryCandidate, candidates

if TYPE_CHECKING:
    from drivers.skf.device import SkfDeviceInfo
    from drivers.skf.events import SkfEventWatcher
    from drivers.skf.library import SkfLibrary


class SkfBackend(Backend):
    name = "skf"

    def __init__(
        self, libraries: Sequence[str] = (), profiles: Optional[ProfileSet] = None, platform: Optional[str] = None
    ) -> None:
        self.profiles = profiles or ProfileSet.load()
        self.explicit = list(libraries)
        self.platform = platform or sys.platform
        self.problems: List[str] = []

    def candidates(self) -> List[LibraryCandidate]:
        return candidates(self.explicit, self.profiles, self.platform)

    def load(self, candidate: LibraryCandidate) -> SkfLibrary:
        from drivers.skf.library import load_library

        skf = candidate.profile.skf if candidate.profile is not None else None
        return load_library(candidate.path, skf.calling_convention if skf else None)

    def _profile(self, candidate: LibraryCandidate, info: SkfDeviceInfo) -> Optional[TokenProfile]:
        """The device's manufacturer decides first (a profile with PIN bounds), then the library's profile."""
        if info.manufacturer:
            for profile in self.profiles.profiles:
                if (
                    profile.skf is not None
                    and profile.manufacturers
                    and profile.matches_manufacturer(info.manufacturer)
                ):
                    return profile
        return candidate.profile

    def devices(self) -> List[Device]:
        result: List[Device] = []
        self.problems = []
        found = self.candidates()
        if not found:
            return result
        from drivers.skf.device import decode, default_encoding, read_device_info
        from drivers.skf.driver import SkfDevice

        for candidate in found:
            try:
                library = self.load(candidate)
                names = library.read_names("SKF_EnumDev", 1)
            except DriverError as exc:
                self.problems.append(f"{candidate.path}: {exc}")
                continue
            encoding = default_encoding(candidate.profile, self.platform)
            for raw in names:
                try:
                    info = read_device_info(library, raw, encoding)
                except DriverError as exc:
                    self.problems.append(f"{candidate.path} device {decode(raw, encoding)}: {exc}")
                    continue
                result.append(SkfDevice(library, info, self._profile(candidate, info), self.platform))
        return result

    def watchers(self, poll_interval: float = 1.0) -> List[SkfEventWatcher]:
        """One watcher (not started) per SKF library that loads: insertions and removals for the tray."""
        from drivers.skf.device import default_encoding
        from drivers.skf.events import SkfEventWatcher

        result = []
        for candidate in self.candidates():
            try:
                library = self.load(candidate)
            except DriverError:
                continue
            encoding = default_encoding(candidate.profile, self.platform)
            result.append(SkfEventWatcher(library, encoding, poll_interval))
        return result

    def status(self) -> BackendStatus:
        found = self.candidates()
        if not found:
            return BackendStatus(
                self.name,
                False,
                "no SKF library found; install the USB key's driver, or name its library with --skf-module, "
                "CERTASSIST_SKF_MODULES or settings (skf_modules)",
            )
        loaders = [(candidate.path, partial(self.load, candidate)) for candidate in found]
        return BackendStatus.of_libraries(self.name, "libraries", loaders)
