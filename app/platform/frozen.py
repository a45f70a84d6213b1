"""Facts about a frozen (PyInstaller) build, cheap to ask at command-line start (standard library only)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional


def server_executable() -> Path:
    """Where a frozen build keeps the issuing service's own executable, when it ships one."""
    name = "certassist-server.exe" if sys.platform == "win32" else "certassist-server"
    return Path(sys.executable).with_name(name)


def demo_unavailable_reason() -> Optional[str]:
    """Why ``--demo`` cannot run here, or None: a frozen client build without the service executable."""
    if not getattr(sys, "frozen", False) or server_executable().exists():
        return None
    return (
        "--demo needs the embedded issuing service, which this installed package does not include; "
        "run the demo from a source checkout (./run.sh --demo)"
    )
