"""The command line starts lazily: ``--version`` and ``token list`` import only what they use.

Structure, not timing (benchmarks/cli_start.py measures the time): each command runs in a fresh
interpreter that reports the modules it loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List, Set

import pytest

from drivers.profiles import ProfileSet
from drivers.soft import SoftBackend
from tests.conftest import FAST_KDF, REPO

REPORT = """
import json, sys
from app.cli import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
with open(sys.argv[1], "w") as fh:
    json.dump(sorted(sys.modules), fh)
"""

# Never needed to print the version or to list devices.
NEVER = {
    "app.api_client",
    "app.cli.crypto",
    "app.demo",
    "app.diagnostics",
    "app.flows",
    "app.ui",
    "cryptography",
    "drivers.pkcs11.driver",
    "drivers.soft.device_secret",
    "drivers.soft.keystore",
    "drivers.soft.session",
    "filelock",
    "gm._native",
    "gm.sm2",
    "gm.sm3",
    "gm.sm4",
    "gm.x509",
    "httpx",
    "keyring",
    "pkcs11",
    "PySide6",
    "qtpy",
    "rich",
    "server",
}
VERSION_NEVER = NEVER | {"app.cli.token", "app.settings", "drivers.registry", "drivers.soft", "smartcard"}


def loaded(args: List[str], tmp_path: Path) -> Set[str]:
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", REPORT, str(out), *args],
        cwd=REPO,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.exists(), done.stderr
    return set(json.loads(out.read_text()))


def offenders(modules: Set[str], banned: Set[str]) -> List[str]:
    return sorted(m for m in modules if m in banned or m.split(".")[0] in banned or m.rpartition(".")[0] in banned)


@pytest.fixture()
def no_pkcs11_modules() -> None:
    """User profiles that replace the built-in ones without modules (SoftHSM2 is installed here)."""
    home = Path(os.environ["CERTASSIST_HOME"])
    profiles = [{"id": p.id, "modules": {}} for p in ProfileSet.load().profiles]
    (home / "profiles").mkdir(parents=True, exist_ok=True)
    (home / "profiles" / "none.json").write_text(json.dumps({"profiles": profiles}))


def test_version_imports_no_command(tmp_path: Path) -> None:
    modules = loaded(["--version"], tmp_path)
    assert "click" in modules and "app.cli" in modules
    assert offenders(modules, VERSION_NEVER) == []


def test_token_list_imports_no_crypto_keyring_or_http(tmp_path: Path, no_pkcs11_modules: None) -> None:
    SoftBackend(kdf=FAST_KDF).create_device("软证书 listed", "24680135")  # listed from its file alone
    modules = loaded(["token", "list", "--json"], tmp_path)
    assert {"drivers.registry", "drivers.soft.driver", "drivers.soft.state", "smartcard"} <= modules
    assert offenders(modules, NEVER) == []


def test_the_check_sees_a_heavy_import(tmp_path: Path) -> None:
    """The same probe on `token info`, which opens sessions, does report crypto: the probe is not blind."""
    device, _admin = SoftBackend(kdf=FAST_KDF).create_device("软证书 opened", "24680135")
    modules = loaded(["token", "info", "--device", device.info.serial], tmp_path)
    assert {"app.diagnostics", "drivers.soft.session", "gm.sm2", "keyring"} <= modules
