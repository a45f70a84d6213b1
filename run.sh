#!/usr/bin/env bash
# Quick start, command 1: run the product. Without arguments: the tray app with an embedded issuing
# service and a demo account (`certassist --demo`); any arguments are passed to `certassist` instead.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/bootstrap.sh run
if [[ $# -eq 0 ]]; then set -- --demo; fi
exec .venv/bin/certassist "$@"
