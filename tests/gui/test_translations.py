"""Chinese first, English from the committed Qt translation files; every text has a translation."""

from __future__ import annotations

import subprocess
import sys
from typing import Any, Iterator

import pytest

from app.ui import i18n
from app.ui.login import LoginDialog
from app.ui.tray import make_icon
from tests.conftest import REPO


@pytest.mark.main_python  # the script compiles with PySide6's lrelease; the 3.8 pass loads the same .qm files
def test_every_text_is_translated_and_the_files_are_current() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/update_translations.py", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture()
def english(qapp: Any) -> Iterator[None]:
    assert i18n.install("en")
    yield
    i18n.install("zh_CN")


def test_english_ui(english: None, qtbot: Any) -> None:
    dialog = LoginDialog(make_icon())
    qtbot.addWidget(dialog)
    assert dialog.account_button.text() == "Account login"
    assert dialog.username.placeholderText() == "Enter your user name"
    assert i18n.tr("PIN码错误，还可以尝试{n}次").format(n=3) == "Wrong PIN, 3 tries left"


def test_chinese_is_the_default(qtbot: Any) -> None:
    dialog = LoginDialog(make_icon())
    qtbot.addWidget(dialog)
    assert dialog.account_button.text() == "账号登录"
