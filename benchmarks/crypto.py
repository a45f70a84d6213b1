#!/usr/bin/env python3
"""SM2 throughput of gm against `openssl speed sm2` and the pure-Python gmssl, measured in one run.

Prints a table of ops/s and ratios; the last line is one JSON object with at least
``sm2_sign_vs_openssl``, ``sm2_verify_vs_openssl`` and ``sm2_sign_vs_gmssl``.
Targets: gm >= 0.90 of OpenSSL's sign and verify rate, and >= 15x gmssl.

    .venv/bin/python benchmarks/crypto.py [--seconds 1.0] [--rounds 3] [--check]

Each figure is the best of ``--rounds`` runs, interleaved so that both sides see the same machine load.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gm.sm2 import SM2PrivateKey

MESSAGE = bytes(20)  # what `openssl speed` signs
OPS = ("keygen", "sign", "verify", "encrypt", "decrypt")
SIGN_TARGET_VS_OPENSSL = 0.90
TARGET_VS_GMSSL = 15.0


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Operations per second of ``fn`` over about ``seconds``."""
    fn()  # warm-up (first-use self-test, caches)
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(8):
            fn()
        count += 8
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def gm_ops(seconds: float) -> Dict[str, float]:
    key = SM2PrivateKey.generate()
    pub = key.public_key
    sig = key.sign(MESSAGE)
    ct = pub.encrypt(MESSAGE)
    return {
        "keygen": rate(SM2PrivateKey.generate, seconds),
        "sign": rate(lambda: key.sign(MESSAGE), seconds),
        "verify": rate(lambda: pub.verify(sig, MESSAGE), seconds),
        "encrypt": rate(lambda: pub.encrypt(MESSAGE), seconds),
        "decrypt": rate(lambda: key.decrypt(ct), seconds),
    }


_SPEED_LINE = re.compile(r"^\+F7:\d+:256:[^:]*:([0-9.]+):([0-9.]+)$")


def openssl_ops(seconds: float) -> Dict[str, float]:
    """Parse `openssl speed -mr sm2`: the +F7 line carries sign/s and verify/s for the 256-bit curve."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise SystemExit("benchmarks/crypto.py: the openssl command line is needed (apt-get install openssl)")
    secs = str(max(1, round(seconds)))
    out = subprocess.run(
        [openssl, "speed", "-mr", "-seconds", secs, "sm2"], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    for line in out.splitlines():
        match = _SPEED_LINE.match(line.strip())
        if match:
            return {"sign": float(match.group(1)), "verify": float(match.group(2))}
    raise SystemExit(f"benchmarks/crypto.py: no SM2 result in `openssl speed` output:\n{out}")


def gmssl_ops(seconds: float) -> Dict[str, float]:
    from gmssl import sm2 as gmssl_sm2

    key = SM2PrivateKey.generate()
    d_hex = key.to_raw().hex()
    g = gmssl_sm2.CryptSM2(private_key=d_hex, public_key=key.public_key.to_raw()[1:].hex(), mode=1)
    sig = g.sign_with_sm3(MESSAGE)
    ct = g.encrypt(MESSAGE)
    generator = gmssl_sm2.default_ecc_table["g"]
    return {
        "keygen": rate(lambda: g._kg(int(d_hex, 16), generator), seconds),
        "sign": rate(lambda: g.sign_with_sm3(MESSAGE), seconds),
        "verify": rate(lambda: g.verify_with_sm3(sig, MESSAGE), seconds),
        "encrypt": rate(lambda: g.encrypt(MESSAGE), seconds),
        "decrypt": rate(lambda: g.decrypt(ct), seconds),
    }


def best(runs: List[Dict[str, float]]) -> Dict[str, float]:
    return {op: max(r[op] for r in runs) for op in runs[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.0, help="measuring time per operation and run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs; the best of each is kept")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    gm_runs, ossl_runs, gmssl_runs = [], [], []
    for _ in range(args.rounds):
        gm_runs.append(gm_ops(args.seconds))
        ossl_runs.append(openssl_ops(args.seconds))
    gmssl_runs.append(gmssl_ops(args.seconds))  # orders of magnitude slower: one run is plenty
    gm, ossl, gmssl = best(gm_runs), best(ossl_runs), best(gmssl_runs)

    print(f"{'SM2 ops/s':<10}{'gm':>12}{'openssl':>12}{'gmssl':>12}{'gm/openssl':>12}{'gm/gmssl':>10}")
    for op in OPS:
        vs_ossl = f"{gm[op] / ossl[op]:.3f}" if op in ossl else "-"
        ossl_text = f"{ossl[op]:.1f}" if op in ossl else "-"
        print(f"{op:<10}{gm[op]:>12.1f}{ossl_text:>12}{gmssl[op]:>12.1f}{vs_ossl:>12}{gm[op] / gmssl[op]:>10.1f}")

    sign_vs_openssl = gm["sign"] / ossl["sign"]
    verify_vs_openssl = gm["verify"] / ossl["verify"]
    sign_vs_gmssl = gm["sign"] / gmssl["sign"]
    met = (
        sign_vs_openssl >= SIGN_TARGET_VS_OPENSSL
        and verify_vs_openssl >= SIGN_TARGET_VS_OPENSSL
        and sign_vs_gmssl >= TARGET_VS_GMSSL
    )
    result: Dict[str, object] = {
        "sm2_sign_vs_openssl": round(sign_vs_openssl, 3),
        "sm2_verify_vs_openssl": round(verify_vs_openssl, 3),
        "sm2_sign_vs_gmssl": round(sign_vs_gmssl, 1),
        "sm2_verify_vs_gmssl": round(gm["verify"] / gmssl["verify"], 1),
        "sm2_encrypt_vs_gmssl": round(gm["encrypt"] / gmssl["encrypt"], 1),
        "sm2_decrypt_vs_gmssl": round(gm["decrypt"] / gmssl["decrypt"], 1),
        "gm_ops_per_s": {k: round(v, 1) for k, v in gm.items()},
        "openssl_ops_per_s": {k: round(v, 1) for k, v in ossl.items()},
        "gmssl_ops_per_s": {k: round(v, 1) for k, v in gmssl.items()},
    }
    result["targets_met"] = met
    print(json.dumps(result))
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
