"""Browser tests: Debian's headless Chromium (driven by Playwright's Python package, pointed at
/usr/bin/chromium: no browser is downloaded) against the service's web portal, with the real tray in this
process (pytest-qt, offscreen) serving the browser bridge and raising its own dialog for the PIN.

Playwright's calls block the thread they run on, which is also the GUI thread here: every browser call
goes through ``Portal``, which pauses the GUI stall meter for it (the test's own blocking, not the app's)
and pumps Qt's events while it waits for the page, so the bridge's sign requests reach the tray's dialog.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, TypeVar

import pytest

from app.bridge.native import install_manifest
from tests.conftest import OUTPUT, REPO
from tests.gui.conftest import (
    Gui,
    LiveService,
    close_gui,
    make_gui,
    pytest_sessionfinish,  # noqa: F401 - the stall record, also for these tests
    start_service,
)
from tests.peers import SmtpServer, free_port

T = TypeVar("T")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
EXTENSION = REPO / "resources" / "browser-extension"
NO_ASSISTANT = "请安装新版驱动或驱动出错"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]

pytestmark = [pytest.mark.browser, pytest.mark.main_python]


@pytest.fixture(scope="package")
def playwright() -> Iterator[Any]:
    """Playwright's sync API, for this package's tests only: while it is started, this thread's asyncio event
    loop counts as running between its calls, and asyncio.run() in a later test (e.g. tests/server's load
    generator) would refuse to start."""
    if not Path(CHROMIUM).exists():  # ./test.sh installs Debian's chromium; missing means a broken set-up
        pytest.fail("Debian's chromium is required for the browser tests (scripts/bootstrap.sh test installs it)")
    from playwright.sync_api import sync_playwright

    manager = sync_playwright().start()
    yield manager
    manager.stop()


@dataclass
class Portal:
    """A Chromium page on the portal, driven while the tray keeps running."""

    gui: Gui
    context: Any  # playwright BrowserContext
    page: Any  # playwright Page
    url: str
    requests: List[Dict[str, Any]] = field(default_factory=list)  # portal API calls the page made (replays)

    def call(self, action: Callable[[], T]) -> T:
        with self.gui.stall.paused():
            return action()

    def wait(self, check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
        """Pump Qt's events until ``check()`` (a browser-side look) is truthy."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.call(check)
            except Exception as exc:  # the page navigates meanwhile: look again
                if "context was destroyed" not in str(exc) and "navigat" not in str(exc):
                    raise
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                self.shot("failure")
                raise AssertionError(
                    f"timed out waiting for {what or check} on {self.page.url}: page says {self.message()!r}"
                )
            self.gui.qtbot.wait(25)

    def path(self) -> str:
        """The page's path now (``page.url`` is only updated while Playwright is busy with another call)."""
        return str(self.call(lambda: self.page.evaluate("location.pathname")))

    def visible(self, selector: str) -> bool:
        return bool(self.call(lambda: self.page.locator(selector).is_visible()))

    def text(self, selector: str) -> str:
        return str(self.call(lambda: self.page.locator(selector).inner_text()))

    def message(self) -> str:
        """What the page says now: the login page's message line, or the account page's."""
        for selector in ("#certificate-message", "#account-message"):
            try:
                if self.page.locator(selector).count():
                    return str(self.page.locator(selector).inner_text(timeout=500))
            except Exception:  # a page that is being replaced has no text yet
                continue
        return ""

    def wait_message(self, expected: str, timeout: float = 30.0) -> str:
        return str(self.wait(lambda: expected in self.message() and self.message(), timeout, f"message {expected}"))

    def click(self, selector: str) -> None:
        self.call(lambda: self.page.locator(selector).click())

    def shot(self, name: str) -> Path:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        path = OUTPUT / f"portal-{name}.png"
        self.call(lambda: self.page.screenshot(path=str(path), full_page=True))
        return path

    def close(self) -> None:
        self.call(self.context.close)


def open_portal(
    playwright: Any,
    gui: Gui,
    url: str,
    profile: Path,
    args: Optional[List[str]] = None,
    extension: bool = False,
    path: str = "/",
) -> Portal:
    """A fresh Chromium profile (its own permissions and storage) showing the portal's ``path``."""
    launch_args = [*CHROMIUM_ARGS, *(args or [])]
    ignore: List[str] = []
    if extension:
        launch_args += [f"--disable-extensions-except={EXTENSION}", f"--load-extension={EXTENSION}"]
        ignore = ["--disable-extensions"]  # Playwright's default, which would keep the extension out
    with gui.stall.paused():
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=launch_args,
            ignore_default_args=ignore,
            locale="zh-CN",
            viewport={"width": 1200, "height": 860},
            env=dict(os.environ),  # this test's CERTASSIST_HOME and bridge port, for the native host it starts
        )
    page = context.pages[0] if context.pages else context.new_page()
    portal = Portal(gui, context, page, url)

    def record(request: Any) -> None:
        if "/api/v1/portal/" in request.url and request.method == "POST":
            portal.requests.append({"url": request.url, "body": request.post_data})

    page.on("request", record)
    portal.call(lambda: page.goto(url + path))
    return portal


@dataclass
class BrowserSetup:
    gui: Gui
    live: LiveService
    bridge_port: int
    tmp: Path

    @property
    def origin(self) -> str:
        return self.live.url

    def start_bridge(self) -> None:
        self.gui.model.settings.bridge_port = self.bridge_port
        assert self.gui.controller.bridge.start(), self.gui.controller.bridge.problem
        self.gui.controller.bridge.update()

    def native_host(self, profile: Path) -> Path:
        """The host manifest in the test profile's NativeMessagingHosts folder (Chromium looks there)."""
        executable = REPO / ".venv" / "bin" / "certassist"
        return install_manifest(profile / "NativeMessagingHosts", str(executable))


def warm_up() -> None:
    """pyscard's card monitor, which the tray imports on the GUI thread when it first starts (~250 ms on a
    loaded machine; tests/gui's first test pays it): imported before the stall meter runs, so that these
    tests' stall records are about the bridge."""
    import contextlib
    import importlib

    with contextlib.suppress(ImportError):
        importlib.import_module("smartcard.CardMonitoring")


@pytest.fixture()
def browser_setup(
    qtbot: Any, tmp_path: Path, smtp: SmtpServer, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BrowserSetup]:
    from drivers.soft import SoftBackend
    from tests.conftest import FAST_KDF

    warm_up()
    bridge_port = free_port()
    monkeypatch.setenv("CERTASSIST_BRIDGE_PORT", str(bridge_port))  # the native host (a child of Chromium) too
    live = start_service(tmp_path / "server", smtp, bridge_port=bridge_port)
    gui = make_gui(qtbot, live.url, [SoftBackend(kdf=FAST_KDF)])
    gui.inbox = live.smtp.inbox  # 证书签发 reads the mailed issuance code
    gui.controller.bridge.sign_timeout = 60
    yield BrowserSetup(gui, live, bridge_port, tmp_path)
    close_gui(gui, request.node.name)
    gui.controller.bridge.stop()  # after the stall meter: waiting for the port to close is the test's
    live.stop()
