"""A build without python-pkcs11 (the Windows 7 package: no Windows wheel for Python 3.8) reports the PKCS#11
backend as unavailable and says why; discovery, diagnostics and the repair check keep working."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.diagnostics import build_report
from app.repair import Outcome, _pkcs11
from drivers.errors import DriverUnavailable
from drivers.pkcs11 import Pkcs11Backend
from drivers.pkcs11.backend import NOT_IN_THIS_BUILD, load_module
from drivers.profiles import ProfileSet
from drivers.registry import discover


@pytest.fixture
def no_python_pkcs11(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pkcs11", None)  # `import pkcs11` now raises ModuleNotFoundError
    for name in [m for m in sys.modules if m.startswith(("pkcs11.", "drivers.pkcs11."))]:
        if name != "drivers.pkcs11.backend":
            monkeypatch.delitem(sys.modules, name)


def test_backend_says_pkcs11_is_not_in_this_build(no_python_pkcs11: None, tmp_path: Path) -> None:
    module = tmp_path / "vendor-p11.dll"
    module.write_bytes(b"MZ")  # a configured module file: without python-pkcs11 it is never loaded
    backend = Pkcs11Backend([str(module)], ProfileSet([]))
    status = backend.status()
    assert not status.available
    assert status.detail == f"{NOT_IN_THIS_BUILD[0]}. {NOT_IN_THIS_BUILD[1]}"
    with pytest.raises(DriverUnavailable, match=r"python-pkcs11 has no Windows build for Python 3\.8"):
        backend.devices()
    with pytest.raises(DriverUnavailable, match="SKF driver"):
        load_module(str(module))
    found = discover([backend])
    assert found.devices == [] and "not part of this build" in found.problems["pkcs11"]
    report = build_report([backend])
    assert report["backends"]["pkcs11"]["available"] is False
    assert report["backends"]["pkcs11"]["slots"] == []
    check = _pkcs11(backend)
    assert check.outcome is Outcome.WARNING and "SKF" in str(check.detail)


def test_without_a_module_the_backend_still_says_why(no_python_pkcs11: None) -> None:
    status = Pkcs11Backend([], ProfileSet([])).status()
    assert not status.available and status.detail.startswith(NOT_IN_THIS_BUILD[0])
