from __future__ import annotations

from typing import Iterator

import pytest

from tests.softhsm import SoftHsm, start_softhsm


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    yield start_softhsm(tmp_path_factory.mktemp("softhsm"))
