#!/usr/bin/env bash
# Quick start, command 2: run every check and test. Arguments are passed to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/bootstrap.sh test
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy"
mypy
mypy --platform win32 app/platform app/autostart.py app/settings.py app/ui/single_instance.py  # the Windows branches
echo "== vermin (gm, drivers and app must run on Python 3.8 for Windows 7)"
vermin --target=3.8- --violations --no-tips --quiet gm drivers app
echo "== pytest"
exec python -m pytest "$@"
