"""Which Python runs the demo's embedded service (it needs >= 3.10; the client also runs on 3.8)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from app.demo import SERVICE_PYTHON_ENV, DemoError, private_dir, service_python


def test_the_named_interpreter_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SERVICE_PYTHON_ENV, "/opt/python3.12/bin/python3")
    assert service_python() == "/opt/python3.12/bin/python3"


def test_a_recent_python_runs_it_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SERVICE_PYTHON_ENV, raising=False)
    monkeypatch.setattr(sys, "version_info", (3, 11, 7, "final", 0))
    assert service_python() == sys.executable


def test_python_3_8_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SERVICE_PYTHON_ENV, raising=False)
    monkeypatch.setattr(sys, "version_info", (3, 8, 18, "final", 0))
    with pytest.raises(DemoError, match=f"3.10.*3.8.*{SERVICE_PYTHON_ENV}"):
        service_python()


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_the_demo_folder_is_private(tmp_path: Path) -> None:
    made = private_dir(tmp_path / "a" / "demo")
    assert made.stat().st_mode & 0o777 == 0o700
    earlier = tmp_path / "earlier"
    earlier.mkdir(mode=0o755)
    os.chmod(earlier, 0o755)  # as an earlier version left it (personal data readable by everyone)
    assert private_dir(earlier).stat().st_mode & 0o777 == 0o700
