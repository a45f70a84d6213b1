"""Shared fixtures. Tests that need an external program or daemon are marked ``integration``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gm.sm2 import SM2PrivateKey

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
