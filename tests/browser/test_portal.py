"""The web portal in headless Chromium: 证书登录 through the tray's bridge and dialog, and every refusal.

Each test has its own service process, its own tray (with a soft certificate issued through its menu)
and a fresh Chromium profile. Screenshots of the portal's pages go to test-output/portal-*.png.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from app.ui.web_sign import WebSignDialog
from tests.browser.conftest import NO_ASSISTANT, BrowserSetup, Portal, open_portal
from tests.gui.live_service import CAPTCHA
from tests.gui.test_tray_flows import PIN, issue_soft_certificate

pytestmark = [pytest.mark.browser, pytest.mark.main_python]


def with_certificate(setup: BrowserSetup, username: str = "wang") -> None:
    user = setup.live.new_user(username, "王五")
    issue_soft_certificate(setup.gui, user)
    assert setup.gui.model.inventory.entries, "the tray has no certificate after 证书签发"


def to_certificate_list(portal: Portal, explained: bool = True) -> None:
    """证书登录 tab; the Local Network Access explanation first (a fresh profile), then the list."""
    portal.click("#tab-certificate")
    if explained:
        portal.wait(lambda: portal.page.locator("#lna-explain").is_visible(), what="the LNA explanation")
        portal.click("#lna-continue")
    portal.wait(lambda: portal.page.locator("#certificate-list").is_visible(), what="the certificate list")


def sign_dialog(setup: BrowserSetup, portal: Portal) -> WebSignDialog:
    return setup.gui.dialog(WebSignDialog, setup.origin)


def test_certificate_login_with_the_pin_in_the_assistants_dialog(
    playwright: Any, browser_setup: BrowserSetup, tmp_path: Path
) -> None:
    setup = browser_setup
    with_certificate(setup)
    setup.start_bridge()
    entry = setup.gui.model.inventory.entries[0]
    portal = open_portal(playwright, setup.gui, setup.live.url, tmp_path / "profile")
    try:
        portal.shot("login")
        portal.click("#tab-certificate")
        portal.wait(lambda: portal.page.locator("#lna-explain").is_visible())
        assert "访问本地网络" in portal.text("#lna-explain") and "允许" in portal.text("#lna-explain")
        portal.shot("lna-explanation")
        portal.click("#lna-continue")
        portal.wait(lambda: portal.page.locator("#certificate-list").is_visible())
        assert "选择证书登录" in portal.text("#certificate-list")
        row = portal.text("#certificate-rows")
        assert entry.serial in row and entry.subject in row and entry.not_after in row
        portal.shot("certificate-list")

        portal.click("#certificate-login")
        dialog = sign_dialog(setup, portal)
        assert dialog.site.text() == setup.origin  # the site as the browser reported it
        assert entry.subject in [w.text() for w in dialog.findChildren(type(dialog.site))]
        setup.gui.type_into(dialog.pin, "000000")  # wrong: the dialog stays and says how many tries are left
        setup.gui.submit(dialog)
        setup.gui.qtbot.waitUntil(lambda: "PIN码错误" in dialog.error_label.text(), timeout=20000)
        assert "还可以尝试9次" in dialog.error_label.text()
        assert dialog.isVisible() and dialog.pin.text() == ""
        assert portal.path() == "/"
        setup.gui.type_into(dialog.pin, PIN)
        setup.gui.submit(dialog)
        portal.wait(lambda: portal.path() == "/account" and portal.page.locator("#certificate-fields dd").count())
        assert setup.gui.controller.dialogs.find(WebSignDialog, setup.origin) is None  # closed after one use
        fields = portal.text("#certificate-fields")
        assert entry.serial in fields and "有效" in fields
        assert "证书登录" in portal.text("#account-fields") and "wang" in portal.text("#account-fields")
        portal.shot("account")

        # The same signed answer sent again: the nonce was single-use.
        sent = [r for r in portal.requests if r["url"].endswith("/api/v1/portal/login/certificate")]
        assert len(sent) == 1
        replay = portal.call(
            lambda: portal.page.evaluate(
                """async (body) => { const r = await fetch('/api/v1/portal/login/certificate', {method: 'POST',
                   headers: {'Content-Type': 'application/json'}, body: body}); return [r.status, await r.json()]; }""",
                sent[0]["body"],
            )
        )
        assert replay[0] == 401 and replay[1]["error"] == "nonce_invalid", replay
    finally:
        portal.close()


def test_cancel_and_no_assistant(playwright: Any, browser_setup: BrowserSetup, tmp_path: Path) -> None:
    setup = browser_setup
    portal = open_portal(playwright, setup.gui, setup.live.url, tmp_path / "profile", path="/#certificate")
    try:  # nothing listens on the bridge's port yet: the guide's message and where to get the assistant
        portal.wait(lambda: portal.page.locator("#lna-explain").is_visible())
        portal.click("#lna-continue")
        portal.wait_message(NO_ASSISTANT)
        assert portal.visible("#download") and "下载" in portal.text("#download")
        assert "启动证书助手" in portal.text("#certificate-detail")
        portal.shot("no-assistant")

        with_certificate(setup, "zhaoliu")
        setup.start_bridge()
        portal.click("#certificate-read")
        portal.wait(lambda: portal.page.locator("#certificate-list").is_visible())
        assert not portal.visible("#download")
        portal.click("#certificate-login")
        dialog = sign_dialog(setup, portal)
        setup.gui.click(dialog.cancel_button)
        portal.wait_message("取消")
        assert portal.path() == "/"
        assert setup.gui.controller.dialogs.find(WebSignDialog, setup.origin) is None
    finally:
        portal.close()


class _AttackerPage(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture()
def attacker(tmp_path: Path) -> Iterator[str]:
    """Another local web site (its own port on 127.0.0.1): not one of the bridge's allowed origins."""
    folder = tmp_path / "attacker"
    folder.mkdir()
    (folder / "index.html").write_text("<!doctype html><title>attacker</title><p>attacker</p>", encoding="utf-8")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_AttackerPage, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


ATTACK = """async ([base, serial]) => {
  const out = {};
  for (const [name, init] of [["status", {}], ["certificates", {}],
      ["sign", {method: "POST", headers: {"Content-Type": "application/json"},
                body: JSON.stringify({certificate: serial, nonce: btoa("x".repeat(32))})}]]) {
    const path = name === "sign" ? "/v1/sign" : "/v1/" + name;
    try { const r = await fetch(base + path, init); out[name] = "read " + r.status + " " + await r.text(); }
    catch (e) { out[name] = "blocked"; }
    try { const r = await fetch(base + path, {...init, mode: "no-cors"}); out[name + "-no-cors"] = r.type; }
    catch (e) { out[name + "-no-cors"] = "blocked"; }
  }
  return out;
}"""


def test_another_origin_and_a_rebound_host_are_refused(
    playwright: Any, browser_setup: BrowserSetup, tmp_path: Path, attacker: str
) -> None:
    setup = browser_setup
    with_certificate(setup, "lisi")
    setup.start_bridge()
    serial = setup.gui.model.inventory.entries[0].serial
    base = f"http://127.0.0.1:{setup.bridge_port}"
    rebound = f"http://rebind.test:{setup.bridge_port}"
    portal = open_portal(
        playwright, setup.gui, attacker, tmp_path / "profile", args=["--host-resolver-rules=MAP rebind.test 127.0.0.1"]
    )
    try:
        result = portal.call(lambda: portal.page.evaluate(ATTACK, [base, serial]))
        # CORS names only the allowed origins: this page reads nothing; opaque no-cors requests are refused too
        assert result["status"] == result["certificates"] == result["sign"] == "blocked", result
        setup.gui.qtbot.wait(300)
        assert setup.gui.controller.dialogs.find(WebSignDialog, attacker) is None
        assert not [d for d in setup.gui.controller.dialogs if isinstance(d, WebSignDialog)]

        # DNS rebinding: a name of the attacker's that now resolves to 127.0.0.1 makes the bridge same-origin
        # to the attacker's page; the bridge sees the attacker's Host name and refuses.
        response = portal.call(lambda: portal.page.goto(rebound + "/v1/certificates"))
        assert response is not None and response.status == 403
        body = json.loads(portal.call(lambda: portal.page.locator("body").inner_text()))
        assert body["error"] in ("forbidden_host", "forbidden_origin")
        same_origin = portal.call(lambda: portal.page.evaluate(ATTACK, [rebound, serial]))
        assert all(v.startswith("read 403") for k, v in same_origin.items() if "cors" not in k), same_origin
        assert "forbidden_host" in same_origin["sign"] and serial not in same_origin["certificates"]
        assert not [d for d in setup.gui.controller.dialogs if isinstance(d, WebSignDialog)]
    finally:
        portal.close()


def test_account_login_with_the_captcha(playwright: Any, browser_setup: BrowserSetup, tmp_path: Path) -> None:
    setup = browser_setup
    user = setup.live.new_user("zhangsan", "张三")
    portal = open_portal(playwright, setup.gui, setup.live.url, tmp_path / "profile")

    def image() -> str:
        return str(portal.page.locator("#captcha-image").get_attribute("src") or "")

    try:
        first = portal.wait(lambda: image().startswith("data:image/png;base64,") and image())
        page = portal.page
        portal.call(lambda: page.fill("#username", user["username"]))
        portal.call(lambda: page.fill("#applicant", user["applicant_name"]))
        portal.call(lambda: page.fill("#captcha-answer", "ZZZZ"))
        portal.click("#account-login")
        portal.wait(lambda: "验证码" in page.locator("#account-message").inner_text())
        portal.wait(lambda: image() != first)  # a captcha is single-use: a new one is shown
        portal.call(lambda: page.fill("#captcha-answer", CAPTCHA))
        portal.click("#account-login")
        portal.wait(lambda: portal.path() == "/account" and page.locator("#account-fields dd").count())
        fields = portal.text("#account-fields")
        assert "zhangsan" in fields and "账号登录" in fields
        assert "未使用证书" in portal.text("#certificate-fields")
        portal.shot("account-login")
        portal.click("#logout")
        portal.wait(lambda: portal.path() == "/")
    finally:
        portal.close()
