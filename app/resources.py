"""Where ``resources/`` is: next to the packages in a checkout or wheel, under _MEIPASS when frozen."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_root() -> Path:
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        return Path(meipass) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    return resources_root().joinpath(*parts)
