"""The tray's single-instance socket (issue 13.8): a place no other local user can take, and a clear word
when it cannot be claimed, instead of the silent exit a squatter on the old /tmp name caused."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from qtpy.QtCore import QDir
from qtpy.QtNetwork import QLocalServer

from app.ui.single_instance import Claim, SingleInstance, private_runtime_dir
from tests.conftest import REPO

SECOND_START = """
import sys
from qtpy.QtCore import QCoreApplication
from app.ui.single_instance import SingleInstance
from drivers.soft.driver import certassist_home
app = QCoreApplication([])
print(SingleInstance(certassist_home()).claim().value)
"""


@pytest.fixture()
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    return folder


@pytest.fixture()
def home() -> Path:
    return Path(os.environ["CERTASSIST_HOME"])


def _legacy_name(home: Path) -> str:
    """Where the tray listened before: a fixed name in the shared temp folder."""
    user = os.environ.get("USERNAME") or os.environ.get("USER") or "user"
    digest = hashlib.sha256(f"{user}:{home.resolve()}".encode()).hexdigest()[:16]
    return os.path.join(QDir.tempPath(), f"certassist-{digest}")


@pytest.fixture()
def squatter(home: Path, qapp: Any) -> Iterator[QLocalServer]:
    """Someone listening first on the old predictable path and accepting every connection."""
    server = QLocalServer()
    QLocalServer.removeServer(_legacy_name(home))
    assert server.listen(_legacy_name(home)), server.errorString()
    yield server
    server.close()


def test_a_squatter_on_the_old_tmp_name_no_longer_stops_the_tray(
    runtime: Path, home: Path, squatter: QLocalServer, qapp: Any
) -> None:
    instance = SingleInstance(home)
    assert instance.claim() is Claim.CLAIMED
    assert Path(instance.name).parent == runtime
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o700
    assert instance.problem == ""


def test_a_second_start_brings_up_the_first(runtime: Path, home: Path, qapp: Any, qtbot: Any) -> None:
    first = SingleInstance(home)
    assert first.claim() is Claim.CLAIMED
    second = subprocess.Popen(
        [sys.executable, "-c", SECOND_START], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with qtbot.waitSignal(first.activated, timeout=30_000):
        pass  # the first instance answers while its event loop runs
    out, err = second.communicate(timeout=30)
    assert out.strip() == Claim.ALREADY_RUNNING.value, err


def test_a_stranger_on_our_socket_is_reported_not_obeyed(runtime: Path, home: Path, qapp: Any) -> None:
    """Whatever answers without our instance's key is not our tray: run anyway and say so."""
    name = SingleInstance(home).name
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(name)
    listener.listen(1)

    def answer_wrong() -> None:
        connection, _ = listener.accept()
        connection.recv(100)
        with contextlib.suppress(OSError):  # the instance may have judged and hung up already
            connection.sendall(b"not the tray\n")
        connection.close()

    thread = threading.Thread(target=answer_wrong, daemon=True)
    thread.start()
    try:
        instance = SingleInstance(home)
        started = time.monotonic()
        assert instance.claim() is Claim.UNAVAILABLE
        assert time.monotonic() - started < 5
        assert name in instance.problem and "照常运行" in instance.problem
    finally:
        listener.close()
        thread.join(5)


def test_without_a_runtime_folder_a_private_one_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path, qapp: Any
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    folder, problem = private_runtime_dir()
    assert problem == "" and folder == tmp_path / f"certassist-{os.getuid()}"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert SingleInstance(home).claim() is Claim.CLAIMED


def test_a_folder_someone_else_can_enter_is_refused_with_a_clear_word(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path, qapp: Any
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "missing"))  # unusable: falls back to the temp folder
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    planted = tmp_path / f"certassist-{os.getuid()}"
    planted.mkdir()
    planted.chmod(0o777)  # as another user would leave it for us
    instance = SingleInstance(home)
    assert instance.claim() is Claim.UNAVAILABLE
    assert str(planted) in instance.problem
