"""Shared fixtures. Tests that need an external program or daemon are marked ``integration``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterator

import keyring
import pytest

from gm.sm2 import SM2PrivateKey
from tests.keyring_backend import AtomicPlaintextKeyring

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def sm2_key() -> SM2PrivateKey:
    return SM2PrivateKey.generate()


@pytest.fixture(scope="session")
def openssl_bin() -> str:
    path = shutil.which("openssl")
    if path is None:  # ./test.sh installs it; a missing binary is a broken set-up, not a skip
        pytest.fail("the openssl command line is required (Debian package openssl)")
    return path


FAST_KDF = {"name": "scrypt", "n": 1 << 10, "r": 8, "p": 1}  # only for tests that spend many PIN tries


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own CERTASSIST_HOME and a file keyring in a temp dir, never the user's own."""
    base = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("CERTASSIST_HOME", str(base / "certassist"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "xdg-data"))  # where PlaintextKeyring keeps its file
    # a plain-file keyring written atomically, as OS keyrings are (tests/keyring_backend.py); for subprocesses too
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.keyring_backend.AtomicPlaintextKeyring")
    previous = keyring.get_keyring()
    keyring.set_keyring(AtomicPlaintextKeyring())
    yield base
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def smtp() -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on loopback for every test that reads mail."""
    from tests.server.services import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def softskf_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """libsoftskf.so built from tests/native/softskf with the system compiler (once per session)."""
    from tests.softskf import build_softskf

    return build_softskf(tmp_path_factory.mktemp("softskf-build"))


@pytest.fixture()
def softskf(softskf_built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh copy of the soft SKF library and an empty SOFTSKF_HOME (its first use creates one blank device)."""
    from tests.softskf import SoftSkf, fresh_copy

    home = tmp_path / "softskf-home"
    monkeypatch.setenv("SOFTSKF_HOME", str(home))
    return SoftSkf(fresh_copy(softskf_built, tmp_path / "softskf-lib"), home)


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A private SoftHSM2 (its own SOFTHSM2_CONF and token directory)."""
    from tests.softhsm import start_softhsm

    yield start_softhsm(tmp_path_factory.mktemp("softhsm"))
