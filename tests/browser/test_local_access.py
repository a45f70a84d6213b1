"""Local Network Access (Chrome/Edge 142+) and the prompt-free path through the extension.

Chromium is told to treat the portal's address as public (``--ip-address-space-overrides=IP:PORT=public``,
the form Chromium 156 takes on its command line), so its requests to the bridge on 127.0.0.1 need the
``loopback-network`` permission. Headless Chromium shows no prompt and dismisses it as a refusal; a user's
"允许" is given the way the browser records it (the permission granted for the portal's origin).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.ui.web_sign import WebSignDialog
from tests.browser.conftest import NO_ASSISTANT, BrowserSetup, Portal, open_portal
from tests.browser.test_portal import attacker, with_certificate  # noqa: F401 - a fixture used here
from tests.gui.test_tray_flows import PIN

pytestmark = [pytest.mark.browser, pytest.mark.main_python]
PERMISSION = "navigator.permissions.query({name: 'loopback-network'}).then((s) => s.state)"


def as_public(setup: BrowserSetup) -> str:
    address = setup.live.url.removeprefix("http://")
    return f"--ip-address-space-overrides={address}=public"


def permission(portal: Portal) -> str:
    return str(portal.call(lambda: portal.page.evaluate(PERMISSION)))


def test_the_prompt_is_explained_then_allowed_refused_or_denied(
    playwright: Any, browser_setup: BrowserSetup, tmp_path: Path
) -> None:
    setup = browser_setup
    with_certificate(setup, "sunqi")
    setup.start_bridge()

    # The user allows: the page explains first, then the browser asks, then the certificates are listed.
    portal = open_portal(playwright, setup.gui, setup.live.url, tmp_path / "allow", args=[as_public(setup)])
    try:
        assert permission(portal) == "prompt"
        portal.click("#tab-certificate")
        portal.wait(lambda: portal.page.locator("#lna-explain").is_visible())
        assert "允许" in portal.text("#lna-explain")
        assert not portal.visible("#certificate-list")
        portal.shot("lna-before-prompt")
        portal.call(lambda: portal.context.grant_permissions(["local-network-access"], origin=setup.origin))
        assert permission(portal) == "granted"
        portal.click("#lna-continue")
        portal.wait(lambda: portal.page.locator("#certificate-list").is_visible())
        assert setup.gui.model.inventory.entries[0].serial in portal.text("#certificate-rows")
    finally:
        portal.close()

    # The user refuses (headless Chromium dismisses its prompt, as a refusal does): the guide's message.
    portal = open_portal(playwright, setup.gui, setup.live.url, tmp_path / "refuse", args=[as_public(setup)])
    try:
        portal.click("#tab-certificate")
        portal.wait(lambda: portal.page.locator("#lna-explain").is_visible())
        portal.click("#lna-continue")
        portal.wait_message(NO_ASSISTANT)
        assert not portal.visible("#certificate-list")
        portal.shot("lna-refused")
    finally:
        portal.close()

    # Refused earlier (site settings say 阻止): the page says how to allow it, without asking again.
    portal = open_portal(playwright, setup.gui, setup.live.url, tmp_path / "denied", args=[as_public(setup)])
    try:
        session = portal.call(lambda: portal.context.new_cdp_session(portal.page))
        portal.call(
            lambda: session.send(
                "Browser.setPermission",
                {"permission": {"name": "loopback-network"}, "setting": "denied", "origin": setup.origin},
            )
        )
        assert permission(portal) == "denied"
        portal.click("#tab-certificate")
        portal.wait_message(NO_ASSISTANT)
        assert "本地网络访问" in portal.text("#certificate-detail")
        assert not portal.visible("#lna-explain")
        portal.shot("lna-denied")
    finally:
        portal.close()
    assert not [d for d in setup.gui.controller.dialogs if isinstance(d, WebSignDialog)]


REQUEST = """([type, payload]) => new Promise((resolve) => {
  window.addEventListener("message", (event) => {
    if (event.data && event.data.source === "certassist-extension" && event.data.id === 7) resolve(event.data);
  });
  window.postMessage({source: "certassist-page", id: 7, type: type, payload: payload}, location.origin);
})"""


def test_extension_and_native_host_need_no_prompt(
    playwright: Any,
    browser_setup: BrowserSetup,
    tmp_path: Path,
    attacker: str,  # noqa: F811
) -> None:
    setup = browser_setup
    with_certificate(setup, "zhouba")
    setup.start_bridge()
    entry = setup.gui.model.inventory.entries[0]
    profile = tmp_path / "profile"
    setup.native_host(profile)
    portal = open_portal(playwright, setup.gui, setup.live.url, profile, args=[as_public(setup)], extension=True)
    try:
        portal.wait(lambda: portal.page.evaluate("document.documentElement.dataset.certassistExtension") == "1")
        portal.click("#tab-certificate")
        portal.wait(lambda: portal.page.locator("#certificate-list").is_visible())
        assert not portal.visible("#lna-explain")  # no Local Network Access prompt on this path
        assert permission(portal) == "prompt"  # ... and none was needed
        assert "浏览器扩展" in portal.text("#transport")
        portal.shot("extension-certificate-list")
        portal.click("#certificate-login")
        dialog = setup.gui.dialog(WebSignDialog, setup.origin)  # the origin the browser reported
        assert dialog.site.text() == setup.origin
        setup.gui.type_into(dialog.pin, PIN)
        setup.gui.submit(dialog)
        portal.wait(lambda: portal.path() == "/account" and portal.page.locator("#certificate-fields dd").count())
        assert entry.serial in portal.text("#certificate-fields")

        # Another site's page with the same extension: the host passes its real origin, the assistant refuses.
        other = portal.call(portal.context.new_page)
        portal.call(lambda: other.goto(attacker))
        for kind, payload in (("certificates", {}), ("sign", {"certificate": entry.serial, "nonce": "A" * 44})):
            answer = portal.call(lambda: other.evaluate(REQUEST, [kind, payload]))  # noqa: B023
            assert answer["status"] == 403 and answer["body"]["error"] == "forbidden_origin", json.dumps(answer)
        assert setup.gui.controller.dialogs.find(WebSignDialog, attacker) is None
    finally:
        portal.close()
