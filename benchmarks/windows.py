#!/usr/bin/env python3
"""The Windows package under Wine: MSI size, silent install time, frozen tray start time.

Builds (or reuses) the MSI like installer/build-windows.sh, then in a fresh Wine prefix on Xvfb:
- MSI size against the 70 MB goal;
- `msiexec /i … /qn` against copying the same files (the reference measured in the same run);
- the frozen tray (`certassist-tray.exe`) from start to its icon docked in the tray host, against the
  frozen console program's `--version` (interpreter + bundle start, the same machine and prefix).
The last line is one JSON object.

    .venv/bin/python benchmarks/windows.py [--rounds 3] [--target win7]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from installer.winbuild.build import build
from installer.winbuild.targets import TARGETS
from installer.winbuild.wine import new_prefix, windows_path
from tests.windows.desktop import Desktop

SIZE_GOAL = 70_000_000
INSTALL_DIR = r"C:\Program Files\CertAssist"


def best(rounds: int, measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--target", choices=sorted(TARGETS), default="win10", help="win7: the Windows 7 MSI")
    args = parser.parse_args()
    target = TARGETS[args.target]
    result = build(target, say=lambda text: print(text, file=sys.stderr))
    size = result.msi.stat().st_size
    figures: Dict[str, float] = {"msi_mb": round(size / 1e6, 1), "msi_vs_goal": round(size / SIZE_GOAL, 2)}
    with tempfile.TemporaryDirectory(prefix="certassist-bench-") as scratch, Desktop() as desktop:
        root = Path(scratch)
        prefix = new_prefix(root / "machine", display=desktop.display, standins=target.standins)
        try:
            prefix.start()
            installs: List[float] = []
            copies: List[float] = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                code = prefix.run(["msiexec", "/i", windows_path(result.msi), "/qn", "AUTOSTART=0"], timeout=600)
                installs.append(time.perf_counter() - started)
                assert code.returncode == 0, code.stdout
                started = time.perf_counter()
                shutil.copytree(result.folder, root / "copy", symlinks=True)
                subprocess.run(["sync"], check=True)
                copies.append(time.perf_counter() - started)
                shutil.rmtree(root / "copy")
                if len(installs) < args.rounds:
                    prefix.run(["msiexec", "/x", windows_path(result.msi), "/qn"], timeout=600)
            figures["install_s"] = round(min(installs), 2)
            figures["install_vs_copy"] = round(min(installs) / min(copies), 1)

            def version() -> float:
                started = time.perf_counter()
                prefix.run([INSTALL_DIR + r"\certassist.exe", "--version"], timeout=120)
                return time.perf_counter() - started

            def tray() -> float:
                before = set(desktop.windows())
                started = time.perf_counter()
                process = prefix.popen([INSTALL_DIR + r"\certassist-tray.exe"])
                deadline = started + 120
                try:
                    while time.perf_counter() < deadline:
                        if desktop.new_tray_icon(before) is not None:
                            return time.perf_counter() - started
                        time.sleep(0.05)
                    raise RuntimeError("the tray icon did not appear within 120 s")
                finally:
                    process.terminate()
                    prefix.kill()
                    prefix.start()

            figures["console_start_s"] = round(best(args.rounds, version), 2)
            figures["tray_start_s"] = round(best(args.rounds, tray), 2)
            figures["tray_vs_console_start"] = round(figures["tray_start_s"] / figures["console_start_s"], 1)
        finally:
            prefix.kill()
    print(f"MSI {figures['msi_mb']} MB ({figures['msi_vs_goal']:.0%} of the 70 MB goal)")
    print(f"silent install {figures['install_s']} s ({figures['install_vs_copy']}x copying the same files)")
    print(
        f"frozen tray start under Wine {figures['tray_start_s']} s to the docked icon "
        f"({figures['tray_vs_console_start']}x the console program's --version, {figures['console_start_s']} s)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
