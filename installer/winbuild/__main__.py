"""``python -m installer.winbuild``: see installer/build-windows.sh (the documented entry point)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from installer.winbuild.build import build
from installer.winbuild.targets import TARGETS

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(prog="installer/build-windows.sh", description=__doc__)
    parser.add_argument("--target", choices=sorted(TARGETS), default="win10", help="what to build (default win10)")
    parser.add_argument(
        "--win7",
        dest="target",
        action="store_const",
        const="win7",
        help="the Windows 7 SP1 x64 build (same as --target win7): dist/certassist-<version>-win7-x64.msi",
    )
    parser.add_argument("--version", help="ProductVersion of the MSI (default: the version in pyproject.toml)")
    parser.add_argument("--dist", type=Path, default=REPO / "dist", help="output folder (default dist/)")
    args = parser.parse_args()
    result = build(TARGETS[args.target], args.version)
    args.dist.mkdir(parents=True, exist_ok=True)
    msi = args.dist / result.msi.name
    shutil.copy2(result.msi, msi)
    folder = args.dist / f"certassist-{result.version}-{result.target.output_suffix}"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(result.folder, folder, symlinks=True)
    print(f"{msi}\n{folder}")


if __name__ == "__main__":
    main()
