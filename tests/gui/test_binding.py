"""The GUI tests run on the binding each build ships: PySide6 (main), PySide2 on Python 3.8 (Windows 7)."""

from __future__ import annotations

import sys
from typing import Any

import qtpy
from qtpy.QtCore import qVersion
from qtpy.QtGui import QGuiApplication


def test_the_binding_is_the_one_this_python_ships(qapp: Any) -> None:
    expected = ("PySide2", "5.15.") if sys.version_info < (3, 9) else ("PySide6", "6.")
    assert (qtpy.API_NAME, qVersion()[: len(expected[1])]) == expected
    assert QGuiApplication.platformName() == "offscreen"
