"""The GUI tests' stall meter: it counts the time the tray's code holds the GUI thread, not the test's own steps."""

from __future__ import annotations

import subprocess
import time
from typing import Any

from qtpy.QtCore import QTimer

from tests.gui.conftest import StallMeter


def test_a_slot_that_blocks_is_a_stall_and_named(qtbot: Any) -> None:
    meter = StallMeter()
    meter.start()
    QTimer.singleShot(0, lambda: time.sleep(0.3))  # the tray's code (a slot) holding the GUI thread
    qtbot.wait(600)
    assert meter.stop() >= 250
    assert "test_stall_meter.py" in meter.culprit and "qtbot.py" in meter.culprit


def test_the_tests_own_blocking_steps_are_not_stalls(qtbot: Any) -> None:
    meter = StallMeter()
    meter.start()
    qtbot.wait(50)
    subprocess.run(["sleep", "0.3"], check=True)  # a test checking something directly (here: a process)
    time.sleep(0.3)  # or waiting
    qtbot.wait(50)
    assert meter.stop() < 100
