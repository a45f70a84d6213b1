"""The tray's side of the browser bridge: serves the HTTP bridge off the GUI thread and raises the
网站证书登录 dialog for each sign request (one at a time; ``app.bridge`` has the rules and protocol).

The bridge's threads never touch Qt objects or the model: they read snapshots (the allowed origins, the
certificate list) that the GUI thread renews whenever the tray's state changes, and hand sign requests
to the GUI thread through a queued signal.
"""

from __future__ import annotations

import logging
import threading
from typing import Dict, List, Optional

from qtpy.QtCore import QObject, Signal

from app.bridge.http import BridgeServer
from app.bridge.protocol import (
    SIGN_TIMEOUT_S,
    BridgeCore,
    CertificateInfo,
    SignRequest,
    SignResult,
    assistant_version,
    certificate_infos,
)
from app.bridge.rules import BridgeRules, normalised_origins
from app.entries import CertificateEntry
from app.ui.context import AppContext
from app.ui.i18n import tr
from app.ui.labels import device_label
from app.ui.web_sign import PendingSign, WebSignFlow

log = logging.getLogger(__name__)


class BridgeService(QObject):
    sign_requested = Signal(object)  # PendingSign, emitted on a bridge thread, handled on the GUI thread

    def __init__(self, ctx: AppContext, parent: Optional[QObject] = None, sign_timeout: float = SIGN_TIMEOUT_S):
        super().__init__(parent)
        self.ctx = ctx
        self.sign_timeout = sign_timeout
        self.server: Optional[BridgeServer] = None
        self.problem = ""  # why the bridge is not listening, for 环境修复 and 设置
        self.flow: Optional[WebSignFlow] = None
        self._lock = threading.Lock()
        self._rules = BridgeRules(0, frozenset())
        self._infos: List[CertificateInfo] = []
        self._entries: Dict[str, CertificateEntry] = {}
        self.sign_requested.connect(self._start_sign)
        ctx.changed.connect(self.update)

    @property
    def port(self) -> int:
        return self.server.port if self.server is not None else 0

    # -- life (GUI thread) -------------------------------------------------------------------------
    def start(self) -> bool:
        """Listen on the configured port (0: off); False with ``problem`` set when it cannot."""
        self.stop(wait=False)
        self.problem = ""
        try:
            port = self.ctx.model.settings.effective_bridge_port()
        except ValueError as exc:
            self.problem = str(exc)
            return False
        if port == 0:
            return False
        core = BridgeCore(self._current_rules, self._certificates, self._sign, assistant_version(), self.sign_timeout)
        server = BridgeServer(core, port)
        self.server = server
        self.update()
        try:
            server.start()
        except OSError as exc:
            self.server = None
            self.problem = tr("浏览器证书登录无法使用：本机端口 {port} 已被占用或不可用（{detail}）。").format(
                port=port, detail=exc.strerror or str(exc)
            )
            log.warning("browser bridge not started on port %d: %s", port, exc)
            return False
        return True

    def stop(self, wait: bool = True) -> None:
        """``wait``: until the port is closed (at exit); a restart from 设置 does not wait on the GUI thread."""
        if self.flow is not None:
            self.flow.cancel()
        server, self.server = self.server, None
        if server is not None:
            server.stop(wait)

    def settings_changed(self) -> None:
        """设置 changed the port or the allowed sites: a running bridge moves to the new port at once."""
        if self.server is not None and self.server.port != self._configured_port():
            self.start()
        else:
            self.update()

    def _configured_port(self) -> int:
        try:
            return self.ctx.model.settings.effective_bridge_port()
        except ValueError:
            return 0

    def describe(self) -> str:
        if self.server is not None:
            return tr("浏览器证书登录：正在本机 127.0.0.1:{port} 等待网上服务系统的请求").format(port=self.port)
        return self.problem or tr("浏览器证书登录：未开启")

    def update(self) -> None:
        """New snapshots for the bridge's threads: allowed origins and the certificates present now."""
        model = self.ctx.model
        entries = list(model.inventory.entries)
        rules = BridgeRules(self.port, normalised_origins(model.service_url(), model.settings.bridge_origins))
        infos = certificate_infos(entries, device_label)
        with self._lock:
            self._rules = rules
            self._infos = infos
            self._entries = {entry.serial: entry for entry in entries}

    # -- called on the bridge's threads ------------------------------------------------------------
    def _current_rules(self) -> BridgeRules:
        with self._lock:
            return self._rules

    def _certificates(self) -> List[CertificateInfo]:
        with self._lock:
            return list(self._infos)

    def _sign(self, request: SignRequest, timeout: float) -> SignResult:
        pending = PendingSign(request)
        self.sign_requested.emit(pending)
        return pending.wait(timeout + 15)  # the dialog's own time limit answers first

    # -- GUI thread ----------------------------------------------------------------------------------
    def _start_sign(self, pending: PendingSign) -> None:
        with self._lock:
            entry = self._entries.get(pending.request.serial)
        if entry is None:
            pending.refuse("unknown_certificate", "未找到所选证书，请插入证书设备后刷新页面重试", 404)
            return
        self.flow = WebSignFlow(self.ctx, entry, pending, self.sign_timeout)
        self.flow.start()
