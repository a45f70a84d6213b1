"""Find OpenSSL 3's libcrypto on this system, in a CPython install, or inside a PyInstaller bundle."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

from gm.errors import CryptoUnavailable

ENV_OVERRIDE = "CERTASSIST_LIBCRYPTO"

# Windows DLL names as shipped by CPython (3.11+) and by the OpenSSL installers.
_WINDOWS_NAMES = ("libcrypto-3-x64.dll", "libcrypto-3.dll")
_POSIX_NAMES = ("libcrypto.so.3",)
_MAC_NAMES = ("libcrypto.3.dylib",)


def _bundle_dirs() -> Iterator[Path]:
    """Directories a frozen app or a CPython install keeps its DLLs in, most specific first."""
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        yield Path(meipass)
    exe_dir = Path(sys.executable).resolve().parent
    yield exe_dir
    yield exe_dir / "DLLs"
    yield Path(sys.base_prefix) / "DLLs"
    yield Path(sys.base_prefix) / "lib"


def candidate_paths(platform: Optional[str] = None) -> List[str]:
    """Every place worth trying, in order. Pure function of the environment, so it can be tested."""
    platform = platform or sys.platform
    candidates: List[str] = []
    override = os.environ.get(ENV_OVERRIDE)
    if override:
        # An explicit choice is the only candidate: silently falling back would hide a mistake.
        return [override]
    names: Tuple[str, ...]
    if platform.startswith("win"):
        names = _WINDOWS_NAMES
    elif platform == "darwin":
        names = _MAC_NAMES
    else:
        names = _POSIX_NAMES
    for directory in _bundle_dirs():
        candidates.extend(str(directory / name) for name in names)
    if platform.startswith("win"):
        # Never let the DLL search order pick up an unrelated libcrypto from PATH: full paths only.
        return candidates
    candidates.extend(names)  # the dynamic loader's own search (ld.so.cache, DYLD paths)
    found = ctypes.util.find_library("crypto")
    if found:
        candidates.append(found)
    return candidates


def load_libcrypto() -> ctypes.CDLL:
    """Load the first libcrypto that is OpenSSL >= 3.0; raise CryptoUnavailable with a fix otherwise."""
    tried: List[str] = []
    for path in candidate_paths():
        if os.path.isabs(path) and not os.path.exists(path):
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            tried.append(f"{path} ({exc})")
            continue
        version = _version_number(lib)
        if version is None or version < 0x30000000:
            tried.append(f"{path} (not OpenSSL 3: version {version!r})")
            continue
        return lib
    detail = "; ".join(tried) if tried else "no candidate file exists"
    raise CryptoUnavailable(
        "OpenSSL 3 libcrypto was not found, so SM2 is unavailable. "
        "Install OpenSSL 3 (Debian: apt-get install libssl3) or point "
        f"{ENV_OVERRIDE} at libcrypto-3 (tried: {detail})"
    )


def _version_number(lib: ctypes.CDLL) -> Optional[int]:
    try:
        fn = lib.OpenSSL_version_num
    except AttributeError:
        return None
    fn.restype = ctypes.c_ulong
    fn.argtypes = []
    return int(fn())
