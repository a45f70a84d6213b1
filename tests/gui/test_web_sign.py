"""网站证书登录: the tray's own dialog for a page's sign request, driven through the real bridge over HTTP
(a thread plays the browser's part; tests/browser does it with Chromium): time limit, a locked PIN that
offers 证书解锁, requests queued one at a time, and a PIN asked for every signature."""

from __future__ import annotations

import base64
import http.client
import json
import threading
from typing import Any, Dict, List, Tuple

from app.bridge.protocol import SignRequest
from app.settings import Settings
from app.ui.certificate_flows import UnlockFlow
from app.ui.settings_dialog import GENERAL
from app.ui.web_sign import WebSignDialog
from gm.challenge import ChallengePurpose, LoginChallenge
from tests.gui.conftest import Gui, LiveService
from tests.gui.test_tray_flows import PIN, issue_soft_certificate
from tests.peers import free_port

OTHER_SITE = "https://portal.example.cn"
NONCE = bytes(range(32))


class PageCall:
    """A sign request sent the way a page's fetch sends it, answered on its own thread."""

    def __init__(self, port: int, origin: str, serial: str) -> None:
        self.answer: List[Tuple[int, Dict[str, Any]]] = []
        body = json.dumps({"certificate": serial, "nonce": base64.b64encode(NONCE).decode()})

        def call() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            headers = {"Origin": origin, "Content-Type": "application/json", "Host": f"127.0.0.1:{port}"}
            connection.request("POST", "/v1/sign", body=body, headers=headers)
            response = connection.getresponse()
            self.answer.append((response.status, json.loads(response.read())))
            connection.close()

        self.thread = threading.Thread(target=call, daemon=True)
        self.thread.start()

    def result(self, gui: Gui, timeout: int = 30000) -> Tuple[int, Dict[str, Any]]:
        gui.qtbot.waitUntil(lambda: bool(self.answer), timeout=timeout)
        return self.answer[0]


def ready(gui: Gui, live: LiveService, username: str) -> str:
    issue_soft_certificate(gui, live.new_user(username, "钱七"))
    gui.model.settings.bridge_port = free_port()
    gui.model.settings.bridge_origins = [OTHER_SITE]
    assert gui.controller.bridge.start(), gui.controller.bridge.problem
    return gui.model.inventory.entries[0].serial


def test_time_limit_refuses_the_page(gui: Gui, live: LiveService) -> None:
    serial = ready(gui, live, "qianqi")
    gui.controller.bridge.sign_timeout = 1.5
    try:
        call = PageCall(gui.controller.bridge.port, live.url, serial)
        dialog = gui.dialog(WebSignDialog, live.url)
        assert dialog.site.text() == live.url
        status, body = call.result(gui)
        assert status == 408 and body["error"] == "timeout", body
        assert gui.controller.dialogs.find(WebSignDialog, live.url) is None
    finally:
        gui.controller.bridge.stop(wait=False)  # closes its port off the GUI thread


def test_locked_pin_offers_unlock_and_the_page_is_told(gui: Gui, live: LiveService) -> None:
    serial = ready(gui, live, "qianba")
    try:
        call = PageCall(gui.controller.bridge.port, live.url, serial)
        dialog = gui.dialog(WebSignDialog, live.url)
        for left in range(9, 0, -1):
            gui.type_into(dialog.pin, "000000")
            gui.submit(dialog)
            gui.qtbot.waitUntil(lambda n=left: f"还可以尝试{n}次" in dialog.error_label.text(), timeout=20000)
        assert not call.answer  # the page waits while the user retypes
        gui.type_into(dialog.pin, "000000")
        gui.submit(dialog)
        status, body = call.result(gui)
        assert status == 423 and body["error"] == "pin_locked", body
        text = gui.answer("证书解锁", expect="PIN码已被锁定")
        assert "解锁码" in text
        gui.qtbot.waitUntil(lambda: gui.controller.actions.running(UnlockFlow) is not None)
        flow = gui.controller.actions.running(UnlockFlow)
        assert flow is not None and flow.entry is not None and flow.entry.serial == serial
        gui.idle()
    finally:
        gui.controller.bridge.stop(wait=False)  # closes its port off the GUI thread


def test_one_request_at_a_time_and_a_pin_for_each(gui: Gui, live: LiveService) -> None:
    serial = ready(gui, live, "qianjiu")
    port = gui.controller.bridge.port
    try:
        first = PageCall(port, live.url, serial)
        dialog = gui.dialog(WebSignDialog, live.url)
        second = PageCall(port, OTHER_SITE, serial)  # another allowed site waits for its turn
        gui.qtbot.wait(500)
        assert gui.controller.dialogs.find(WebSignDialog, OTHER_SITE) is None and not second.answer
        gui.click(dialog.cancel_button)
        status, body = first.result(gui)
        assert status == 409 and body["error"] == "cancelled"

        other = gui.dialog(WebSignDialog, OTHER_SITE)  # now the second site's own dialog, naming it
        assert other.site.text() == OTHER_SITE
        gui.type_into(other.pin, PIN)
        gui.submit(other)
        status, body = second.result(gui)
        assert status == 200 and body["origin"] == OTHER_SITE and body["purpose"] == "web-login"
        cert = gui.model.inventory.entries[0].sign
        expected = LoginChallenge(ChallengePurpose.WEB_LOGIN, OTHER_SITE, NONCE).to_be_signed()
        cert.public_key.verify(base64.b64decode(body["signature"]), expected)
        assert base64.b64decode(body["certificate"]) == cert.to_der()

        third = PageCall(port, OTHER_SITE, serial)  # no login is kept: the PIN is asked again
        again = gui.dialog(WebSignDialog, OTHER_SITE)
        assert again.pin.text() == ""
        gui.type_into(again.pin, PIN)
        gui.submit(again)
        assert third.result(gui)[0] == 200
        assert SignRequest(OTHER_SITE, serial, NONCE).challenge == LoginChallenge.parse(expected)
    finally:
        gui.controller.bridge.stop(wait=False)  # closes its port off the GUI thread


def status(port: int, origin: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/v1/status", headers={"Origin": origin, "Host": f"127.0.0.1:{port}"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_settings_move_the_bridge_and_allow_a_site(gui: Gui, live: LiveService) -> None:
    old = free_port()
    gui.model.settings.bridge_port = old
    assert gui.controller.bridge.start()
    try:
        dialog = gui.controller.open_settings(page=GENERAL)
        assert f"127.0.0.1:{old}" in dialog.bridge_state.text()
        assert status(old, live.url) == 200 and status(old, OTHER_SITE) == 403
        new = free_port()
        dialog.bridge_port.setValue(new)
        gui.type_into(dialog.bridge_origins, "https://portal.example.cn/login")
        gui.click(dialog.general_save)
        assert "只填写网站的来源" in dialog.general_status.text()
        assert gui.controller.bridge.port == old and Settings.load().bridge_origins == []
        gui.type_into(dialog.bridge_origins, "https://portal.example.cn")
        gui.click(dialog.general_save)
        assert gui.controller.bridge.port == new
        assert Settings.load().bridge_port == new and Settings.load().bridge_origins == [OTHER_SITE]
        assert status(new, OTHER_SITE) == 200 and status(new, live.url) == 200

        def closed() -> bool:
            try:
                status(old, live.url)
            except OSError:
                return True
            return False

        gui.qtbot.waitUntil(closed, timeout=5000)  # the old port is closed (off the GUI thread)
    finally:
        gui.controller.bridge.stop(wait=False)  # closes its port off the GUI thread
