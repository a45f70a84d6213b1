#!/usr/bin/env python3
"""How `certassist crypto inspect` scales with the size of its input, measured in one run.

Each check times the same work at a size and at four times that size and prints the ratio: about 4
means linear, 16 quadratic. Targets: ratios <= 6 (linear, with noise), and a 42 MB file is refused with
exit 2 in under 5 s (it used to hang). Issue 13.11: PEM was decoded line by line (quadratic) and twice.

    .venv/bin/python benchmarks/inspect_scaling.py [--size-kb 256] [--check]

Checks: a signed CRL as PEM (PEM decoding + one CRL parse); a PEM block of junk labelled X509 CRL
(PEM decoding alone, then a quick refusal); a 42 MB PEM file through the real command line.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Dict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asn1crypto import core, pem, x509

from app.cli.crypto import describe_file
from gm.sm2 import SM2PrivateKey

RATIO_TARGET = 6.0
BIG_FILE_TARGET_S = 5.0
_SM2_SM3 = bytes.fromhex("300a06082a811ccf55018375")  # AlgorithmIdentifier sm2sign-with-sm3


def tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + content


def crl_der(target_bytes: int, key: SM2PrivateKey) -> bytes:
    """A signed CRL of about ``target_bytes`` (entries: serial + date), built by concatenation (fast)."""
    now = datetime.now(timezone.utc)
    date = core.UTCTime(now - timedelta(days=1)).dump()
    entries = []
    size, serial = 0, 1 << 64
    while size < target_bytes:
        entry = tlv(0x30, core.Integer(serial).dump() + date)
        entries.append(entry)
        size += len(entry)
        serial += 7919
    tbs = tlv(
        0x30,
        core.Integer(1).dump()
        + _SM2_SM3
        + x509.Name.build({"common_name": "Benchmark CA"}).dump()
        + core.UTCTime(now).dump()
        + core.UTCTime(now + timedelta(days=7)).dump()
        + tlv(0x30, b"".join(entries)),
    )
    signature = key.sign(tbs)
    return tlv(0x30, tbs + _SM2_SM3 + tlv(0x03, b"\x00" + signature))


def seconds(fn: Callable[[], object], rounds: int = 2, budget: float = 0.5) -> float:
    """The best time of ``fn`` over at least ``rounds`` calls, and over ``budget`` seconds for quick ones."""
    best, spent, calls = math.inf, 0.0, 0
    while calls < rounds or spent < budget:
        start = time.perf_counter()
        with contextlib.suppress(Exception):  # refusals are part of what is timed
            fn()
        elapsed = time.perf_counter() - start
        best, spent, calls = min(best, elapsed), spent + elapsed, calls + 1
    return best


def scaling(name: str, make: Callable[[int], bytes], size: int) -> Dict[str, float]:
    small, large = make(size), make(4 * size)
    t_small = seconds(lambda: describe_file(small))
    t_large = seconds(lambda: describe_file(large))
    ratio = t_large / t_small
    print(
        f"{name:<28}{len(small) / 1e6:>8.2f} MB {t_small:>8.3f} s{len(large) / 1e6:>8.2f} MB {t_large:>8.3f} s"
        f"{ratio:>8.1f}"
    )
    return {"small_s": round(t_small, 3), "large_s": round(t_large, 3), "ratio": round(ratio, 2)}


def big_file_run(timeout: float) -> Dict[str, object]:
    """42 MB of PEM through the installed command line, as a user would run it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.pem"
        body = base64.encodebytes(os.urandom(31 * 1024 * 1024))
        path.write_bytes(b"-----BEGIN X509 CRL-----\n" + body + b"-----END X509 CRL-----\n")
        start = time.perf_counter()
        try:
            result = subprocess.run(
                [sys.executable, "-c", "from app.cli import main; main()", "crypto", "inspect", str(path)],
                capture_output=True,
                timeout=timeout,
                check=False,
                cwd=Path(__file__).resolve().parent.parent,
            )
        except subprocess.TimeoutExpired:
            print(f"{'42 MB PEM file (CLI)':<28}{path.stat().st_size / 1e6:>8.1f} MB  > {timeout:.0f} s (killed)")
            return {"seconds": None, "exit": None, "timed_out_after_s": timeout}
        elapsed = time.perf_counter() - start
        message = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        size_mb = path.stat().st_size / 1e6
        print(f"{'42 MB PEM file (CLI)':<28}{size_mb:>8.1f} MB {elapsed:>8.2f} s  exit {result.returncode}")
        print(f"  {message[0][:110]}")
        return {"seconds": round(elapsed, 2), "exit": result.returncode}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-kb", type=int, default=256, help="smaller input size (the larger is 4x)")
    parser.add_argument("--big-timeout", type=float, default=120.0, help="give up on the 42 MB run after this")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    key = SM2PrivateKey.generate()
    size = args.size_kb * 1024

    print(f"{'inspect':<28}{'size':>11}{'time':>10}{'4x size':>11}{'time':>10}{'ratio':>8}")
    crl = scaling("signed CRL, PEM", lambda n: pem.armor("X509 CRL", crl_der(n, key)), size)
    junk = scaling("junk PEM block (X509 CRL)", lambda n: pem.armor("X509 CRL", b"\x04\x00" + os.urandom(n)), size)
    big = big_file_run(args.big_timeout)

    met = (
        crl["ratio"] <= RATIO_TARGET
        and junk["ratio"] <= RATIO_TARGET
        and big.get("exit") == 2
        and (big.get("seconds") or math.inf) <= BIG_FILE_TARGET_S  # type: ignore[operator]
    )
    print(json.dumps({"crl_pem": crl, "junk_pem": junk, "big_file": big, "targets_met": met}))
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
