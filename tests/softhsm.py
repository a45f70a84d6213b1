"""A private SoftHSM2 for tests: its own config and token directory, tokens made with softhsm2-util."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from drivers.pkcs11.driver import load_module
from drivers.profiles import ProfileSet

USER_PIN = "123456"
SO_PIN = "12345678"


@dataclass
class SoftHsm:
    module: str
    directory: Path

    def new_token(self, label: str = "") -> str:
        """Initialise a fresh token and make the already-loaded module see it; returns its label."""
        label = label or f"t-{uuid.uuid4().hex[:8]}"
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", USER_PIN, "--so-pin", SO_PIN],
            check=True,
            capture_output=True,
            env=os.environ.copy(),
        )
        load_module(self.module).reinitialize()
        return label


def softhsm_module_path() -> Optional[str]:
    """Where the softhsm2 token profile says the module is on this OS, if installed."""
    profile = next((p for p in ProfileSet.load().profiles if p.id == "softhsm2"), None)
    return next((m for m in profile.module_candidates() if Path(m).exists()), None) if profile else None


def start_softhsm(base: Path) -> SoftHsm:
    module = softhsm_module_path()
    if module is None or shutil.which("softhsm2-util") is None:
        raise RuntimeError("SoftHSM2 is required (Debian package softhsm2; ./test.sh installs it)")
    tokens = base / "tokens"
    tokens.mkdir(parents=True)
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read by the module at C_Initialize and by softhsm2-util
    return SoftHsm(module, base)
