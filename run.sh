#!/usr/bin/env bash
# Quick start, command 1: run the product. Arguments are passed to `certassist`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/bootstrap.sh run
if [[ $# -eq 0 ]]; then set -- --help; fi
exec .venv/bin/certassist "$@"
