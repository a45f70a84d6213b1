"""certassist.ico for the executables, shortcuts and Add/Remove Programs: the tray's own drawn icon.

Run as ``python -m installer.winbuild.icon OUT.ico`` (Qt offscreen, in the Linux .venv). The ICO holds
PNG-compressed images (Windows Vista and later read them).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

SIZES = (16, 24, 32, 48, 64, 128)


def ico_bytes(images: List[Tuple[int, bytes]]) -> bytes:
    """An ICO file of (size, PNG data) entries."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries, blobs = b"", b""
    for size, png in images:
        side = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset + len(blobs))
        blobs += png
    return header + entries + blobs


def render(out: Path) -> None:
    from qtpy.QtCore import QBuffer, QByteArray, QIODevice, QSize
    from qtpy.QtWidgets import QApplication

    from app.ui.tray import make_icon

    app = QApplication.instance() or QApplication([])
    icon = make_icon()
    images = []
    for size in SIZES:
        pixmap = icon.pixmap(QSize(size, size))
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        pixmap.save(buffer, "PNG")
        images.append((size, bytes(data.data())))
    del app
    out.write_bytes(ico_bytes(images))


def make_ico(out: Path) -> Path:
    """Draw the icon in a child process (Qt offscreen), so the caller never initialises Qt itself."""
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    subprocess.run([sys.executable, "-m", "installer.winbuild.icon", str(out)], cwd=repo, env=env, check=True)
    return out


if __name__ == "__main__":
    render(Path(sys.argv[1]))
