#!/usr/bin/env bash
# Quick start, command 2: run every check and test. Arguments are passed to both pytest passes:
# the main environment (.venv) runs every test; .venv38 (CPython 3.8 + PySide2, Windows 7's client) runs
# the client's tests again, every test outside tests/server except those marked main_python.
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
echo "== pytest: $(python -V), PySide6: every test"
python -m pytest "$@"
# The 3.8 pass takes the same arguments less paths into tests/server (the service's own tests, which it
# cannot import); when every path given was one of those, it has nothing to run.
args38=()
server_paths=0
other_paths=0
for arg in "$@"; do
    path="${arg%%::*}"
    if [[ "$arg" != -* && -e "$path" ]]; then
        relative="$(realpath -m --relative-to="$PWD" "$path")"
        if [[ "$relative" == tests/server || "$relative" == tests/server/* ]]; then
            server_paths=$((server_paths + 1))
            continue
        fi
        other_paths=$((other_paths + 1))
    fi
    args38+=("$arg")
done
echo "== pytest: $(.venv38/bin/python -V), PySide2: the client's tests (service and SMTP server on $(python -V))"
if ((server_paths > 0 && other_paths == 0)); then
    echo "(nothing in this selection runs on Python 3.8)"
    exit 0
fi
status=0
CERTASSIST_SERVICE_PYTHON="$PWD/.venv/bin/python" .venv38/bin/python -m pytest -o cache_dir=.pytest_cache/py38 \
    "${args38[@]}" || status=$?
if [[ $status -eq 5 && $# -gt 0 ]]; then  # pytest's "no tests collected": -k or -m chose server tests only
    echo "(nothing in this selection runs on Python 3.8)"
    status=0
fi
exit $status
