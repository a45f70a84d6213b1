#!/usr/bin/env bash
# Build the soft SKF library: tests/native/softskf/build.sh OUTDIR  ->  OUTDIR/libsoftskf.so
# Needs the system C compiler and OpenSSL 3 headers (Debian: gcc libssl-dev; scripts/bootstrap.sh
# installs both for ./test.sh). SOFTSKF_SANITIZE=1 builds with AddressSanitizer and UBSan.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:?usage: build.sh OUTDIR}"
mkdir -p "$OUT"
CC="${CC:-cc}"
FLAGS=(-std=c11 -D_POSIX_C_SOURCE=200809L -O2 -g -fPIC -shared -fvisibility=hidden
       -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla)
if [[ "${SOFTSKF_SANITIZE:-}" == "1" ]]; then
    FLAGS+=(-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined)
fi
TMP="$(mktemp "$OUT/.libsoftskf.XXXXXX")"
trap 'rm -f "$TMP"' EXIT
"$CC" "${FLAGS[@]}" -o "$TMP" "$HERE"/store.c "$HERE"/crypto.c "$HERE"/handles.c "$HERE"/events.c \
    "$HERE"/api_dev.c "$HERE"/api_key.c -lcrypto -lpthread
mv -f "$TMP" "$OUT/libsoftskf.so"
trap - EXIT
echo "$OUT/libsoftskf.so"
