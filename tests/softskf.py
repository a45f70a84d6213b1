"""The soft SKF library (tests/native/softskf) for tests: built once per session, a fresh copy per test.

Each test loads its own copy of ``libsoftskf.so`` (a new file name is a new dlopen), so the library's process-wide
state (its handles, the device list its event wait compares against) starts empty, and its devices live in the
test's own SOFTSKF_HOME.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Tuple

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "tests" / "native" / "softskf"
USER_PIN = "12345678"
ADMIN_PIN = "admin1234"
USER_TRIES = 10
ADMIN_TRIES = 5
FIRST_DEVICE = "softskf0"


def build_softskf(out: Path, sanitize: bool = False) -> Path:
    """``sanitize`` (or SOFTSKF_SANITIZE=1 in the environment): an ASan/UBSan build; run the tests with
    LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 (Python itself is not built
    with ASan)."""
    env = dict(os.environ)
    if sanitize:
        env["SOFTSKF_SANITIZE"] = "1"
    result = subprocess.run(
        [str(SOURCE / "build.sh"), str(out)], capture_output=True, text=True, env=env, check=False, timeout=300
    )
    if result.returncode != 0:
        raise RuntimeError(f"building softskf failed (./test.sh installs gcc and libssl-dev):\n{result.stderr}")
    return out / "libsoftskf.so"


@dataclass
class SoftSkf:
    library: Path  # this test's own copy
    home: Path  # SOFTSKF_HOME

    def device_file(self, name: str = FIRST_DEVICE) -> Path:
        return self.home / f"{name}.skf"

    def insert(self, name: str) -> Path:
        """A new blank device (an empty state file, initialised at first use)."""
        path = self.device_file(name)
        path.write_bytes(b"")
        return path

    def remove(self, name: str = FIRST_DEVICE) -> None:
        self.device_file(name).unlink()


def fresh_copy(built: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / f"libsoftskf-{uuid.uuid4().hex[:8]}.so"
    shutil.copyfile(built, copy)
    return copy


Filter = Callable[[Tuple[Any, ...]], bool]


class KeyPuller:
    """Pulls a soft SKF key out at a chosen moment of a real flow (its state file moves to a pocket folder, as a key
    leaves its USB port) and puts it back (the same device, with everything it held).

    ``at(library, "SKF_ImportCertificate")`` pulls it just before the library's next call of that function (``after``:
    just after the call returned, so the write happened but the caller never learns of it)."""

    def __init__(self, softskf: SoftSkf, monkeypatch: Any, name: str = FIRST_DEVICE) -> None:
        self.softskf = softskf
        self.monkeypatch = monkeypatch
        self.name = name
        self.pocket = softskf.home.parent / "pocket"
        self.pulled = 0

    def pull(self) -> None:
        self.pocket.mkdir(exist_ok=True)
        os.replace(self.softskf.device_file(self.name), self.pocket / f"{self.name}.skf")
        self.pulled += 1

    def reinsert(self) -> None:
        os.replace(self.pocket / f"{self.name}.skf", self.softskf.device_file(self.name))

    def at(self, library: Any, function: str, when: Optional[Filter] = None, after: bool = False) -> None:
        original = library.call
        armed = [True]

        def call(name: str, *args: Any) -> int:
            trip = armed[0] and name == function and (when is None or when(args))
            if trip and not after:
                armed[0] = False
                self.pull()
            code = int(original(name, *args))
            if trip and after:
                armed[0] = False
                self.pull()
            return code

        self.monkeypatch.setattr(library, "call", call)
