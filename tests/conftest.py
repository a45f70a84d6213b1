"""Shared fixtures. Tests that need an external program or daemon are marked ``integration``.

The client's tests (everything but ``tests/server``) also run on Python 3.8 with PySide2 (Windows 7's
build; ``./test.sh`` runs them from ``.venv38``). They reach the issuing service and the SMTP server only
as processes (``tests.peers``), so any new client test runs there too. A test that needs the service's
code in-process goes under ``tests/server`` (left out below); one that needs a tool only the main
environment has is marked ``main_python`` (skipped there, with the reason).
"""

from __future__ import annotations

import gc
import shutil
import sys
from pathlib import Path
from typing import Any, Iterator, List

import keyring
import pytest

from gm.sm2 import SM2PrivateKey
from tests.keyring_backend import AtomicPlaintextKeyring
from tests.peers import SmtpServer

REPO = Path(__file__).resolve().parent.parent
# What the tests leave for people to look at (screenshots, GUI stall records); the 3.8 pass keeps its own.
OUTPUT = REPO / "test-output" / ("" if sys.version_info >= (3, 10) else "python{}.{}".format(*sys.version_info))

if sys.version_info < (3, 10):
    # The issuing service's own tests import it (FastAPI, SQLAlchemy: Python >= 3.10); the only folder left out.
    collect_ignore = ["server"]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Everything collection imported (every test module, the service, SQLAlchemy, Playwright ...) lives until the
    end: moved out of the collector's reach, so that a full collection during a GUI test no longer walks it (it held
    the GIL for 212 ms, and the GUI tests measured it as a stall of the tray, whose own heap is a fraction)."""
    gc.collect()
    gc.freeze()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test starts with no event loop left marked running on this thread by an earlier one (Playwright's sync
    API marks its loop so while started): asyncio.run() would refuse, far from the cause."""
    import asyncio

    if "playwright" not in getattr(item, "fixturenames", ()) and asyncio._get_running_loop() is not None:
        pytest.fail("an earlier test left an asyncio event loop running on this thread (a Playwright not stopped?)")


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    if sys.version_info >= (3, 10):
        return
    skip = pytest.mark.skip(reason="main_python: runs in the main environment's pass of ./test.sh")
    for item in items:
        if item.get_closest_marker("main_python"):
            item.add_marker(skip)


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
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd, its own process) on loopback for every test that reads mail."""
    server = SmtpServer(tmp_path_factory.mktemp("smtp")).start()
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


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A pcscd with the vpcd readers (one per machine: the fixture holds a machine-wide lock), for the whole session
    so that the integration and the GUI tests share it."""
    from tests.pcsc_daemon import start_pcscd

    daemon = start_pcscd(tmp_path_factory.mktemp("pcscd"))
    try:
        yield
    finally:
        daemon.stop()
