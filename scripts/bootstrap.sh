#!/usr/bin/env bash
# Shared set-up for ./run.sh and ./test.sh: Debian packages, .venv, locked Python packages.
# test also makes .venv38: the client (no server extra) + dev group on CPython 3.8 with PySide2, Windows 7's
# Python, for the second test pass (a CPython 3.8 must be on the machine: pyenv's, python3.8 on PATH, or
# $CERTASSIST_PYTHON38; Debian 12 has none and this machine reaches no other source of one).
# Usage: bootstrap.sh <run|test|windows>. Idempotent and quick when everything is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE="${1:-run}"
UV_VERSION="0.13.8"

# Debian packages. run: what the product needs; test: plus what the test suite drives for real.
# pyscard builds from source here: it needs swig, a compiler, the Python and pcsclite headers.
# The tray needs the libraries PySide6's Qt links (every one `ldd` lists, since recommends are not
# installed) and a CJK font.
RUN_DEBS=(python3 python3-venv python3-dev gcc swig libssl3 ca-certificates libpcsclite-dev pcscd
  fonts-wqy-microhei libegl1 libgl1 libfontconfig1 libdbus-1-3 libglib2.0-0 libgssapi-krb5-2
  libx11-xcb1 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1
  libxcb-xfixes0 libxcb-xinerama0 libxcb-xkb1)
# libssl-dev: the soft SKF library (tests/native/softskf) builds against OpenSSL 3;
# libnss3-tools: 环境修复's root-certificate repair is tested against a real NSS database.
# chromium: the browser tests (tests/browser) drive Debian's headless Chromium through Playwright's Python
# package, which is pointed at /usr/bin/chromium (a browser Playwright would download cannot be fetched here).
TEST_DEBS=(openssl softhsm2 vsmartcard-vpcd postgresql-15 xvfb trayer xdotool imagemagick libnss3-tools
  libssl-dev chromium)
# installer/build-windows.sh (and the tests that build and install the MSI under Wine): Wine 8, wixl and
# msibuild, mingw-w64 for the Wine stand-in DLLs (installer/wine-standins).
WINDOWS_DEBS=(wine wine64 wixl msitools gcc-mingw-w64-x86-64 locales)

debs=("${RUN_DEBS[@]}")
if [[ "$MODE" == "test" ]]; then debs+=("${TEST_DEBS[@]}" "${WINDOWS_DEBS[@]}"); fi
if [[ "$MODE" == "windows" ]]; then debs+=("${WINDOWS_DEBS[@]}"); fi

SUDO=""
if [[ $EUID -ne 0 ]] && command -v sudo >/dev/null; then SUDO="sudo"; fi
missing=()
for pkg in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "bootstrap: installing Debian packages: ${missing[*]}" >&2
    if [[ $EUID -ne 0 && -z "$SUDO" ]]; then echo "bootstrap: run as root or install: ${missing[*]}" >&2; exit 1; fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Wine takes a program's Windows code page, and the charset of file names it writes, from the Linux locale:
# the Windows tests run the installed app under zh_CN.UTF-8 (code page 936) and en_US.UTF-8 (1252).
if [[ "$MODE" == "test" || "$MODE" == "windows" ]]; then
    for loc in zh_CN en_US; do
        if ! locale -a 2>/dev/null | grep -qx "$loc.utf8"; then
            echo "bootstrap: generating the $loc.UTF-8 locale" >&2
            $SUDO localedef -i "$loc" -f UTF-8 "$loc.UTF-8"
        fi
    done
fi

cd "$ROOT"
if [[ ! -x .venv/bin/python ]]; then
    echo "bootstrap: creating .venv" >&2
    python3 -m venv .venv
fi
if [[ "$(.venv/bin/python -m uv --version 2>/dev/null || true)" != "uv $UV_VERSION"* ]]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi

export UV_PROJECT_ENVIRONMENT="$ROOT/.venv" UV_PYTHON_DOWNLOADS=never
sync_args=(sync --frozen --inexact --quiet)
sync_args+=(--all-extras)  # the client and the issuing service (the demo embeds it)
if [[ "$MODE" == "test" ]]; then sync_args+=(--group dev); else sync_args+=(--no-dev); fi
# pefile: the Windows 7 build scans the bundle's import tables (installer/winbuild/pescan.py)
if [[ "$MODE" == "test" || "$MODE" == "windows" ]]; then sync_args+=(--group windows-scan); fi
.venv/bin/python -m uv "${sync_args[@]}"

if [[ "$MODE" == "test" ]]; then
    py38="${CERTASSIST_PYTHON38:-}"
    if [[ -z "$py38" ]]; then  # the newest 3.8.x that pyenv has, else python3.8 on PATH
        py38="$(printf '%s\n' "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.8.*/bin/python3.8 | sort -V | tail -n 1)"
        [[ -x "$py38" ]] || py38="$(command -v python3.8 || true)"
    fi
    if [[ -z "$py38" ]] || ! "$py38" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 8))' 2>/dev/null; then
        echo "bootstrap: the Python 3.8 test pass (the Windows 7 client: PySide2) needs a CPython 3.8, found none" \
            "(looked at \$CERTASSIST_PYTHON38 '${CERTASSIST_PYTHON38:-}', ${PYENV_ROOT:-$HOME/.pyenv}/versions/3.8.*, python3.8" \
            "on PATH). Install one (e.g. 'pyenv install 3.8') or set CERTASSIST_PYTHON38 to its python." >&2
        exit 1
    fi
    UV_PROJECT_ENVIRONMENT="$ROOT/.venv38" .venv/bin/python -m uv sync --frozen --quiet --python "$py38" --group dev
fi
