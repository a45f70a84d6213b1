"""The certificates and devices on this computer: 刷新, hot-plug watching and the expiry warning."""

from __future__ import annotations

import datetime
import logging
from typing import List, Optional

from qtpy.QtCore import QObject, QTimer, Signal

from app.ui.context import AppContext
from app.ui.errors import explain
from app.ui.i18n import tr
from app.ui.jobs import DISCOVERY
from app.ui.model import Inventory
from app.ui.widgets import app_title
from drivers.pcsc.monitor import CardWatcher
from drivers.skf import SkfBackend
from drivers.skf.events import DeviceEventKind, SkfDeviceEvent, SkfEventWatcher

log = logging.getLogger(__name__)

POLL_MS = 4000  # PKCS#11 tokens have no event API that every module implements: poll the slot list
EXPIRY_CHECK_MS = 3600 * 1000


class InventoryService(QObject):
    scanning_changed = Signal(bool)
    card_event = Signal()  # from the PC/SC watcher's thread
    skf_event = Signal(object)  # SkfDeviceEvent, from an SKF library's event thread
    device_gone = Signal(object)  # SkfDeviceEvent of a removal, once the inventory no longer has the key

    def __init__(self, ctx: AppContext, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.scans = 0  # finished scans (tests and the start-up wait on it)
        self.scanning = False
        self._rescan = False
        self._announce = False
        self._known_devices: Optional[List[str]] = None
        self._polling = False
        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(POLL_MS)
        self.poll_timer.timeout.connect(self._poll)
        self.expiry_timer = QTimer(self)
        self.expiry_timer.setInterval(EXPIRY_CHECK_MS)
        self.expiry_timer.timeout.connect(self.check_expiry)
        self.watcher: Optional[CardWatcher] = None
        self.skf_watchers: List[SkfEventWatcher] = []
        self._watching = False
        self.card_event.connect(self.refresh)
        self.skf_event.connect(self._skf_event)
        ctx.refresh_requested.connect(self.refresh)

    # -- 刷新 --------------------------------------------------------------------------------
    def refresh(self, announce: bool = False) -> None:
        """Discover devices and certificates again in the background; ``announce`` says what was found."""
        self._announce = self._announce or announce
        if self.scanning:
            self._rescan = True
            return
        self._set_scanning(True)
        self.ctx.jobs.submit(DISCOVERY, self.ctx.model.scan, self._scanned, self._scan_failed)

    def refresh_now(self) -> None:
        """The menu's 刷新: devices, certificates and the login's state at the service, then a notice."""
        self.refresh(announce=True)
        self.ctx.login_stale.emit()

    def _set_scanning(self, scanning: bool) -> None:
        self.scanning = scanning
        self.scanning_changed.emit(scanning)

    def _scanned(self, inventory: Inventory) -> None:
        model = self.ctx.model
        model.inventory = inventory
        login = model.login
        if login is not None and login.entry is not None:
            login.entry = model.entry_after_refresh(login.entry) or login.entry
        self._finished()
        self.check_expiry()

    def _scan_failed(self, exc: BaseException) -> None:
        log.warning("device scan failed: %s", type(exc).__name__)
        self.ctx.model.inventory = Inventory()
        self._finished(explain(exc).text)

    def _finished(self, problem: str = "") -> None:
        self.scans += 1
        if self._rescan:
            self._rescan = False
            self._set_scanning(False)
            self.ctx.changed.emit()
            self.refresh()
            return
        self._set_scanning(False)
        self.ctx.changed.emit()
        if self._announce:
            self._announce = False
            count = len(self.ctx.model.inventory.entries)
            if problem:
                text = tr("刷新失败：{problem}").format(problem=problem)
            elif count:
                text = tr("刷新完成：找到 {n} 张证书").format(n=count)
            else:
                text = tr("刷新完成：没有找到证书。请插入USB Key，或使用「证书签发」申请证书。")
            self.ctx.notify.emit(app_title(), text)

    # -- watching ----------------------------------------------------------------------------
    def watch(self) -> None:
        """Poll PKCS#11 slot lists, listen to PC/SC card and SKF device events, check expiry every hour."""
        self.poll_timer.start()
        self.expiry_timer.start()
        self._watching = True
        self.watch_skf()
        self.watch_cards()

    def watch_cards(self) -> None:
        """PC/SC card events. Starting the watcher imports pyscard and asks the PC/SC service for its readers:
        on the discovery queue, not the GUI thread (the import alone blocked the tray for 140-300 ms at start)."""

        def start() -> CardWatcher:
            watcher = CardWatcher(lambda _event: self.card_event.emit())
            watcher.start()
            return watcher

        def started(watcher: CardWatcher) -> None:
            if not self._watching:  # stopped meanwhile
                watcher.stop()
                return
            self.watcher = watcher

        def failed(exc: BaseException) -> None:  # no PC/SC service: polling still sees PKCS#11 keys
            log.info("no PC/SC card watcher: %s", exc)

        self.ctx.jobs.submit(DISCOVERY, start, started, failed)

    def watch_skf(self) -> None:
        """One event thread per SKF library (loading a library is device work: it runs on the discovery queue)."""
        backends = self.ctx.model.backends

        def watchers() -> List[SkfEventWatcher]:
            return [w for b in backends() if isinstance(b, SkfBackend) for w in b.watchers()]

        def started(found: List[SkfEventWatcher]) -> None:
            if not self._watching:
                return
            for watcher in found:
                watcher.subscribe(self.skf_event.emit)
                watcher.start()
            self.skf_watchers = found

        self.ctx.jobs.submit(DISCOVERY, watchers, started, lambda exc: log.info("no SKF events: %s", exc))

    def _stop_skf(self) -> None:
        for watcher in self.skf_watchers:
            watcher.stop(timeout=1.0)
        self.skf_watchers = []

    def _skf_event(self, event: SkfDeviceEvent) -> None:
        """A key inserted or pulled out: a pulled key leaves the menu and lists at once, then devices are read again."""
        if event.kind is DeviceEventKind.REMOVED and self.ctx.model.forget_device(event.library, event.device):
            self.ctx.changed.emit()
            self.device_gone.emit(event)
        self.refresh()

    def stop(self) -> None:
        self._watching = False
        self._stop_skf()
        self.poll_timer.stop()
        self.expiry_timer.stop()
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def _poll(self) -> None:
        if self._polling:
            return
        self._polling = True

        def seen(ids: List[str]) -> None:
            self._polling = False
            if self._known_devices is not None and ids != self._known_devices:
                self.refresh()
            self._known_devices = ids

        def failed(_exc: BaseException) -> None:
            self._polling = False

        self.ctx.jobs.submit(DISCOVERY, self.ctx.model.device_ids, seen, failed)

    # -- expiry ------------------------------------------------------------------------------
    def check_expiry(self, today: Optional[datetime.date] = None) -> bool:
        """At most one notification a day for certificates within the warning period."""
        settings = self.ctx.model.settings
        today = today or datetime.date.today()
        entries = self.ctx.model.inventory.entries
        expiring = [e for e in entries if e.days_left <= settings.expiry_warning_days]
        if not expiring or settings.last_expiry_notice == today.isoformat():
            return False
        soonest = min(expiring, key=lambda e: e.days_left)
        if soonest.days_left < 0:
            text = tr("您的证书（{subject}）已过期，请使用「证书更新」续期").format(subject=soonest.subject)
        else:
            text = tr("检查到您的证书还有:{days}天就要过期，请及时使用「证书更新」续期（{subject}）").format(
                days=soonest.days_left, subject=soonest.subject
            )
        settings.last_expiry_notice = today.isoformat()
        # Saving syncs the file to disk (fsync): hundreds of ms on a busy disk, so not on the GUI thread.
        self.ctx.jobs.submit(DISCOVERY, settings.save, lambda _none: None, _settings_not_saved)
        self.ctx.notify.emit(tr("证书即将过期"), text)
        return True


def _settings_not_saved(exc: BaseException) -> None:
    log.warning("could not save the settings: %s", exc)
