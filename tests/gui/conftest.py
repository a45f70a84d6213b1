"""GUI test fixtures: the real tray widgets (offscreen Qt) against the real service on loopback.

The issuing service runs in its own process under uvicorn on a loopback port (so the app's HTTP client,
proxy handling and timeouts are the real ones), on the service's Python (these tests also run on Python
3.8 with PySide2); the tests act as its operator through `certassist-server` commands. Mail goes to a
real SMTP server (aiosmtpd). A heartbeat timer measures how long the GUI thread was ever kept from its
event loop.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Type, TypeVar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import httpx
import pytest
from qtpy.QtCore import QElapsedTimer, QPoint, Qt, QTimer
from qtpy.QtWidgets import QAbstractButton, QApplication, QMessageBox, QWidget

from app.credentials import CredentialCache
from app.settings import Settings
from app.ui.controller import Controller
from app.ui.jobs import JobRunner
from app.ui.model import AppModel
from app.ui.tray import TrayApp, make_icon
from drivers.base import Backend
from drivers.soft import SoftBackend
from tests.conftest import FAST_KDF, OUTPUT, REPO
from tests.peers import Inbox, SmtpServer, free_port, service_python, stop_process

W = TypeVar("W", bound=QWidget)
PASSING_ID = "11010519491231002X"  # the GB 11643 example number
# The target is 50 ms (gui-stalls.json records each test's worst and where it happened); the test fails
# at 200 ms so that a loaded CI machine does not flake, while gross blocking (a real PIN check, 260 ms,
# or a network call on the GUI thread) still fails. The watchdog names the culprit either way.
STALL_LIMIT_MS = 200.0
_stalls: Dict[str, Dict[str, Any]] = {}


ISSUANCE_CODE = re.compile(r"签发码：([A-Z0-9]{4}(?:-[A-Z0-9]{4}){3})")


def mailed_issuance_code(inbox: Inbox, email: str, pause: Callable[[], None]) -> str:
    """The newest issuance code mailed to ``email``, waiting up to 10 s for one (``pause`` between looks)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for message in reversed(inbox.messages):
            match = ISSUANCE_CODE.search(inbox.body(message))
            if message["To"] == email and match:
                return match.group(1)
        pause()
    raise AssertionError(f"no issuance code mailed to {email}")


@dataclass
class LiveService:
    """The service process the tray talks to; ``operator`` runs `certassist-server` commands against it."""

    url: str
    smtp: SmtpServer
    process: subprocess.Popen  # type: ignore[type-arg]

    def operator(self, *args: str) -> str:
        """``certassist-server ARGS`` on this service's data (e.g. ``"ca", "rotate"``); returns what it printed."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps(args) + "\n")
        stdin.flush()
        answer: List[str] = []
        reader = threading.Thread(target=lambda: answer.append(stdout.readline()), daemon=True)
        reader.start()
        app = QApplication.instance()
        while reader.is_alive():  # the tray goes on meanwhile, as it does while a real operator works
            if app is not None:
                app.processEvents()
            reader.join(0.005)
        line = answer[0]
        if not line:
            raise RuntimeError(f"the issuing service exited (code {self.process.poll()})")
        reply = json.loads(line)
        assert reply["exit_code"] == 0, f"certassist-server {' '.join(args)}: {reply['output']}"
        return str(reply["output"])

    def new_user(self, username: str, applicant: str = "张三") -> Dict[str, str]:
        email = f"{username}@example.com"
        self.operator(
            *("account", "add", "--username", username, "--name", applicant, "--type", "natural"),
            *("--id-number", PASSING_ID, "--email", email, "--approve"),
        )
        return {"username": username, "applicant_name": applicant, "email": email}

    def issuance_code(self, email: str) -> str:
        """The newest issuance code (签发码) mailed to ``email`` (the approval mail carries the first)."""
        return mailed_issuance_code(self.smtp.inbox, email, lambda: time.sleep(0.02))

    def stop(self) -> None:
        stop_process(self.process)


def start_service(
    data_dir: Path, smtp: SmtpServer, validity_days: int = 20, bridge_port: int = 8471, host: str = "127.0.0.1"
) -> LiveService:
    """``bridge_port``: the browser bridge the web portal's page calls; ``host``: the loopback address."""
    port = free_port()
    arguments = [str(data_dir), str(port), str(smtp.port), str(validity_days), str(bridge_port), host]
    process = subprocess.Popen(
        [service_python(), "-m", "tests.gui.live_service", *arguments],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            stop_process(process)
            raise RuntimeError("the issuing service did not start")
        time.sleep(0.05)
    return LiveService(url, smtp, process)


@pytest.fixture()
def live(tmp_path: Path, smtp: SmtpServer) -> Iterator[LiveService]:
    """Certificates valid for 20 days: inside the 30-day renewal window (and the expiry warning) at once."""
    service = start_service(tmp_path / "server", smtp)
    yield service
    service.stop()


Frame = Tuple[str, str]  # (file path, line)
TESTS = str(REPO / "tests")
# Where the GUI thread runs the tray's own code when a test lets it: its widgets and controllers, and the Qt layer
# that delivers events (pytest-qt's waits, qtpy, PySide). A test that calls anything else directly (a driver, the
# service, a subprocess) blocks the GUI thread itself: that time is the test's, not a stall of the tray.
TRAY_CODE = (str(REPO / "app" / "ui"), "pytestqt", "qtpy", "PySide2", "PySide6", "shiboken")


def stack_of(dump: str, thread: int) -> List[Frame]:
    """One thread's stack in a faulthandler dump, innermost first."""
    where: List[Frame] = []
    inside = False
    for line in dump.splitlines():
        header = re.match(r"(?:Current thread|Thread) (0x[0-9a-f]+)", line)
        if header:
            inside = int(header.group(1), 16) == thread
        elif inside:
            call = re.match(r'\s+File "(.*)", line (\S+)', line)
            if call:
                where.append((call.group(1), call.group(2)))
    return where


def blocked_by_test(stack: List[Frame]) -> bool:
    """Whether the test's own code holds the GUI thread: going inwards from the outermost test frame, the first frame
    outside the tests is not the tray's code (the test calls a driver to check a key, say), or there is none (the
    test sleeps or waits for a process). A slot the test triggered, or one run while it waits for events, is the
    tray's."""
    in_test = False
    for path, _line in reversed(stack):
        if path.startswith(TESTS):
            in_test = True
        elif in_test:
            return not any(part in path for part in TRAY_CODE)
    return in_test


def describe(stack: List[Frame]) -> str:
    return "; ".join(f"{Path(path).name}:{line}" for path, line in stack)


class StallMeter:
    """A 5 ms heartbeat on the GUI thread; the largest gap between beats, less the time the test's own code held the
    thread in it, is the worst stall.

    A watchdog thread samples the GUI thread's stack while a beat is late: each sample's time goes to the test
    (``blocked_by_test``) or to the tray, and the tray's most sampled stack names the culprit of a stall.
    """

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.clock = QElapsedTimer()
        self.worst_ms = 0.0
        self.culprit = ""
        self.timer.timeout.connect(self._beat)
        self._last = time.monotonic()
        self._gui_thread = threading.get_ident()
        self._lock = threading.Lock()
        self._samples: Dict[str, int] = {}
        self._test_ms = 0.0  # of the current gap: the time the test's own code held the GUI thread
        self._running = False
        self._paused = False

    def start(self) -> None:
        self.clock.start()
        self.timer.start()
        self._running = True
        threading.Thread(target=self._watch, name="stall-watchdog", daemon=True).start()

    def _watch(self) -> None:
        # faulthandler reads the GUI thread's stack without making frame objects. A frame object held here can
        # outlive its call and then be freed on this thread, with the PySide slots it held: PySide disconnects them
        # here, holding a Qt lock while it waits for the GIL, and the GUI thread holding the GIL waits for that lock.
        sampled = 0.0
        with tempfile.TemporaryFile() as dump:
            while self._running:
                time.sleep(0.01)
                now = time.monotonic()
                if now - self._last <= 0.03:
                    continue
                dump.seek(0)
                dump.truncate()
                faulthandler.dump_traceback(dump, all_threads=True)
                dump.seek(0)
                stack = stack_of(dump.read().decode("utf-8", "replace"), self._gui_thread)
                with self._lock:
                    since = max(sampled, self._last)  # a sample stands for the time since the gap began or the last one
                    if stack and blocked_by_test(stack):
                        self._test_ms += (now - since) * 1000
                    elif stack:
                        where = describe(stack)
                        self._samples[where] = self._samples.get(where, 0) + 1
                sampled = now

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """For the test's own steps whose stack does not lead back to the test: Playwright's sync API runs each call
        on its dispatcher greenlet, so the sampled stack shows only Playwright and asyncio."""
        self._paused = True
        try:
            yield
        finally:
            self._paused = False
            self.clock.restart()
            self._last = time.monotonic()
            with self._lock:
                self._samples.clear()
                self._test_ms = 0.0

    def _beat(self) -> None:
        self._last = time.monotonic()
        gap = float(self.clock.restart())
        with self._lock:
            stall = gap - self._test_ms
            samples, self._samples = self._samples, {}
            self._test_ms = 0.0
        if not self._paused and stall > self.worst_ms:
            self.worst_ms = stall
            if samples:
                self.culprit = max(samples, key=lambda k: samples[k])[:600]

    def stop(self) -> float:
        self._running = False
        self.timer.stop()
        return self.worst_ms


@dataclass
class Gui:
    """The tray as a user drives it: menu items, dialogs, message boxes."""

    qtbot: Any
    tray: TrayApp
    controller: Controller
    model: AppModel
    stall: StallMeter
    notifications: List[str] = field(default_factory=list)
    inbox: Optional[Inbox] = None  # the mail the service sent (approval with the issuance code, unlock codes)

    def issuance_code(self, email: str) -> str:
        """The newest issuance code (签发码) mailed to ``email``."""
        assert self.inbox is not None
        return mailed_issuance_code(self.inbox, email, lambda: self.qtbot.wait(20))

    def idle(self, timeout: int = 30000) -> None:
        self.qtbot.waitUntil(lambda: self.controller.jobs.idle, timeout=timeout)

    def menu(self, text: str) -> None:
        """Trigger the menu item as the tray's menu shows it now."""
        action = self.tray.action(text)
        assert action.isEnabled(), f"menu item {text} is disabled: {action.toolTip()}"
        action.trigger()

    def enabled(self) -> Dict[str, bool]:
        self.tray.rebuild_menu()
        return {a.text(): a.isEnabled() for a in self.tray.menu.actions() if a.text()}

    def dialog(self, kind: Type[W], key: str = "") -> W:
        """The open dialog of this type (waits until it opens)."""
        dialogs = self.controller.dialogs
        self.qtbot.waitUntil(lambda: dialogs.find(kind, key) is not None, timeout=30000)
        found = dialogs.find(kind, key)
        assert found is not None
        return found

    def click(self, button: QAbstractButton) -> None:
        """A real left click on the button (it must be enabled and shown)."""
        assert button.isEnabled() and button.isVisible(), button.text()
        spot = button.rect().center()
        if not button.hitButton(spot):  # a radio button or check box wider than its text: click its box
            spot = QPoint(6, button.height() // 2)
        self.qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=spot)

    def box(self, timeout: int = 30000) -> QMessageBox:
        self.qtbot.waitUntil(lambda: bool(self.controller.prompts.open), timeout=timeout)
        return self.controller.prompts.open[-1]

    def answer(self, button_text: str, expect: Optional[str] = None) -> str:
        """Click ``button_text`` on the newest message box; returns the box's text."""
        box = self.box()
        text = box.text()
        if expect is not None:
            assert expect in text, text
        buttons = [b for b in box.findChildren(QAbstractButton) if b.text() == button_text]
        assert buttons, f"no button {button_text} in {[b.text() for b in box.findChildren(QAbstractButton)]}"
        self.click(buttons[0])
        self.qtbot.waitUntil(lambda: box not in self.controller.prompts.open, timeout=5000)
        return text

    def type_into(self, widget: QWidget, text: str) -> None:
        widget.clear()  # type: ignore[attr-defined]
        if text.isascii():
            self.qtbot.keyClicks(widget, text)
        else:  # QTest types ASCII only; Chinese arrives through the input method, i.e. as inserted text
            widget.insert(text)  # type: ignore[attr-defined]

    def submit(self, dialog: Any) -> None:
        self.click(dialog.ok_button)

    def refreshed(self) -> None:
        """刷新 from the menu, and wait until the devices were read again."""
        scans = self.controller.scans
        self.menu("刷新")
        self.qtbot.waitUntil(lambda: self.controller.scans > scans and not self.controller.inventory.scanning)
        self.idle()


def make_gui(qtbot: Any, url: str, backends: List[Backend], start: bool = True) -> Gui:
    settings = Settings(service_url=url)
    model = AppModel(settings=settings, credentials=CredentialCache(), backends=backends)
    controller = Controller(model, JobRunner(), make_icon())
    tray = TrayApp(controller)
    stall = StallMeter()
    gui = Gui(qtbot, tray, controller, model, stall)
    controller.notify.connect(lambda title, text: gui.notifications.append(f"{title}: {text}"))
    stall.start()
    if start:
        scans = controller.scans
        tray.start(splash=False)
        qtbot.waitUntil(lambda: controller.scans > scans, timeout=30000)
        gui.idle()
    return gui


def close_gui(gui: Gui, test_name: str) -> None:
    worst = gui.stall.stop()
    _stalls[test_name] = {"worst_ms": round(worst, 1), "where": gui.stall.culprit}
    try:
        gui.controller.actions.cancel_all()
        gui.controller.prompts.close_all()
        gui.controller.dialogs.close_all()
    finally:  # the tray's watchers and workers stop even when the test failed: left running, they act in later tests
        gui.tray.stop()
        gui.controller.jobs.shutdown()
        QApplication.processEvents()
    assert worst <= STALL_LIMIT_MS, f"the GUI thread was blocked for {worst:.0f} ms in {gui.stall.culprit}"


@pytest.fixture()
def soft_backend() -> SoftBackend:
    return SoftBackend(kdf=FAST_KDF)


@pytest.fixture()
def gui(qtbot: Any, live: LiveService, soft_backend: SoftBackend, request: pytest.FixtureRequest) -> Iterator[Gui]:
    made = make_gui(qtbot, live.url, [soft_backend])
    made.inbox = live.smtp.inbox
    yield made
    close_gui(made, request.node.name)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _stalls:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        (OUTPUT / "gui-stalls.json").write_text(json.dumps(_stalls, indent=1, sort_keys=True))
