"""Where SKF libraries are: explicit paths first (command line, CERTASSIST_SKF_MODULES, settings), then the token
profiles' library names, found in the system library folders."""

from __future__ import annotations

import ntpath
import os
import platform as _platform
import sys
from dataclasses import dataclass
from typing import List, Optional, Sequence, Set

from drivers.profiles import ProfileSet, TokenProfile

_MULTIARCH = (
    "x86_64-linux-gnu",
    "aarch64-linux-gnu",
    "loongarch64-linux-gnu",
    "mips64el-linux-gnuabi64",
    "i386-linux-gnu",
)


@dataclass(frozen=True)
class LibraryCandidate:
    path: str  # as found (absolute)
    profile: Optional[TokenProfile]  # the profile that lists it (None for an explicit path no profile names)
    explicit: bool  # given by the user rather than found through a profile


def search_dirs(platform: Optional[str] = None) -> List[str]:
    platform = platform or sys.platform
    if platform.startswith("win"):
        root = os.environ.get("SYSTEMROOT") or os.environ.get("WINDIR") or r"C:\Windows"  # case-insensitive there
        return [os.path.join(root, "System32")]  # a 32-bit process is redirected to SysWOW64 by Windows itself
    dirs = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if d]
    dirs += ["/usr/local/lib", "/usr/lib", "/usr/lib64", "/lib", "/lib64"]
    dirs += [f"/usr/lib/{arch}" for arch in _MULTIARCH]
    if platform == "darwin":
        dirs += ["/usr/local/lib", "/opt/homebrew/lib", "/Library/Frameworks"]
    return dirs


def resolve(name: str, platform: Optional[str] = None) -> Optional[str]:
    """An existing file for a profile entry: a path (environment variables expand) or a bare file name."""
    expanded = os.path.expanduser(os.path.expandvars(name))
    if os.path.dirname(expanded):
        return expanded if os.path.isfile(expanded) else None
    for folder in search_dirs(platform):
        path = os.path.join(folder, expanded)
        if os.path.isfile(path):
            return path
    return None


def _same_file_name(a: str, b: str, platform: str) -> bool:
    if platform.startswith("win"):
        return ntpath.basename(a).lower() == ntpath.basename(b).lower()
    return os.path.basename(a) == os.path.basename(b)


def profile_for_path(path: str, profiles: ProfileSet, platform: Optional[str] = None) -> Optional[TokenProfile]:
    """The profile that lists a library of this file name, on any OS."""
    platform = platform or sys.platform
    for profile in profiles.profiles:
        if profile.skf is None:
            continue
        for names in profile.skf.libraries.values():
            if any(_same_file_name(path, n, platform) for n in names):
                return profile
    return None


def candidates(explicit: Sequence[str], profiles: ProfileSet, platform: Optional[str] = None) -> List[LibraryCandidate]:
    """Explicit libraries first (kept even when missing, so the user hears about a wrong path), then every
    profile library found here; each file once."""
    platform = platform or sys.platform
    result: List[LibraryCandidate] = []
    seen: Set[str] = set()

    def add(path: str, profile: Optional[TokenProfile], is_explicit: bool) -> None:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            result.append(LibraryCandidate(path, profile, is_explicit))

    for path in explicit:
        add(os.path.abspath(os.path.expanduser(path)), profile_for_path(path, profiles, platform), True)
    for profile, name in profiles.skf_candidates(platform):
        found = resolve(name, platform)
        if found is not None:
            add(found, profile, False)
    return result


def machine_bits() -> str:
    return f"{_platform.architecture()[0]} Python on {_platform.machine() or 'unknown machine'}"
