#!/usr/bin/env python3
"""Start-up time of the ``certassist`` command line against a bare ``python -c "import click"``.

Each command runs as a fresh process (as a user starts it); the reference is measured in the same run,
interleaved with the commands so that both see the same machine load. Each figure is the best of
``--rounds`` runs. Target: ``--version`` and ``token list`` within 2.5x of the bare click import.

    .venv/bin/python benchmarks/cli_start.py [--rounds 15] [--check] [--importtime]

``--importtime`` also prints the slowest modules of each command (``python -X importtime``, cumulative).
``CERTASSIST_HOME`` is a fresh empty folder (no soft keystore). ``token list`` runs twice: as a user's
would on this machine (the token profiles' PKCS#11 modules that exist here, e.g. SoftHSM2, are loaded:
python-pkcs11 and C_Initialize are work the command must do), and with no PKCS#11 module (user profiles
that replace the built-in ones without modules), which isolates the command line's own start-up. The
target applies to ``--version`` and to ``token list`` without modules; the other figure is printed for
comparison. The last line is one JSON object with ``version_vs_click``, ``token_list_vs_click`` and
``token_list_pkcs11_vs_click``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
TARGET = 2.5
# What the `certassist` console script runs.
ENTRY = "import sys; from app.cli import main; sys.exit(main())"
COMMANDS: Dict[str, List[str]] = {
    "click": ["-c", "import click"],
    "version": ["-c", ENTRY, "--version"],
    "token_list": ["-c", ENTRY, "token", "list"],
    "token_list_pkcs11": ["-c", ENTRY, "token", "list"],
}
WITHOUT_MODULES = ("click", "version", "token_list")  # run with the profiles' modules removed


def run_once(args: List[str], env: Dict[str, str], extra: Tuple[str, ...] = ()) -> Tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *extra, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 3):  # token list exits 3 when it finds no device
        raise SystemExit(f"benchmarks/cli_start.py: {args} failed ({done.returncode}):\n{done.stderr}")
    return elapsed, done.stderr


def slowest_imports(stderr: str, count: int) -> List[Tuple[int, str]]:
    rows = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _self, cumulative, name = line[len("import time:") :].split("|", 2)
            if cumulative.strip().isdigit():
                rows.append((int(cumulative), name.rstrip()))
    return sorted(rows, reverse=True)[:count]


def write_profiles_without_modules(home: Path) -> None:
    """User profiles that replace every built-in one by the same id without modules."""
    sys.path.insert(0, str(ROOT))
    from drivers.profiles import ProfileSet

    profiles = [{"id": p.id, "modules": {}} for p in ProfileSet.load().profiles]
    (home / "profiles").mkdir(parents=True)
    (home / "profiles" / "no-modules.json").write_text(json.dumps({"profiles": profiles}), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--check", action="store_true", help=f"exit 1 unless both are within {TARGET}x")
    parser.add_argument("--importtime", action="store_true", help="print the slowest imports of each command")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="certassist-bench-") as bare, tempfile.TemporaryDirectory() as plain:
        write_profiles_without_modules(Path(bare))
        envs = {
            name: {**os.environ, "CERTASSIST_HOME": bare if name in WITHOUT_MODULES else plain} for name in COMMANDS
        }
        for name, args in COMMANDS.items():  # warm the file cache and the .pyc files
            run_once(args, envs[name])
        best = {name: float("inf") for name in COMMANDS}
        for _ in range(options.rounds):
            for name, args in COMMANDS.items():
                best[name] = min(best[name], run_once(args, envs[name])[0])
        if options.importtime:
            for name, args in COMMANDS.items():
                _elapsed, stderr = run_once(args, envs[name], ("-X", "importtime"))
                print(f"-- slowest imports of {name} (cumulative µs)")
                for micros, module in slowest_imports(stderr, 25):
                    print(f"  {micros:>8}  {module}")

    reference = best["click"]
    print(f"{'command':<18} {'best s':>8} {'x click':>8}")
    for name, seconds in best.items():
        print(f"{name:<18} {seconds:>8.3f} {seconds / reference:>8.2f}")
    result = {
        "click_s": round(reference, 4),
        **{f"{name}_s": round(best[name], 4) for name in COMMANDS if name != "click"},
        **{f"{name}_vs_click": round(best[name] / reference, 2) for name in COMMANDS if name != "click"},
        "target": TARGET,
    }
    print(json.dumps(result))
    if options.check and max(result["version_vs_click"], result["token_list_vs_click"]) > TARGET:
        sys.exit(1)


if __name__ == "__main__":
    main()
