"""Which Python runs the demo's embedded service (it needs >= 3.10; the client also runs on 3.8)."""

from __future__ import annotations

import sys

import pytest

from app.demo import SERVICE_PYTHON_ENV, DemoError, service_python


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
