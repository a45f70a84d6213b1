"""USB key insertion and removal from an SKF library, delivered to subscribers (the tray's hot-plug).

A worker thread blocks in SKF_WaitForDevEvent (ctypes releases the GIL meanwhile) and stops through
SKF_CancelWaitForDevEvent. A library without the call (SAR_NOTSUPPORTYETERR, or not exported), or one whose wait
keeps failing, is polled with SKF_EnumDev instead. Subscribers are called on the worker thread with plain
dataclasses; an exception in one is logged and never stops the watcher.
"""

from __future__ import annotations

import enum
import logging
import threading
from ctypes import byref, create_string_buffer
from dataclasses import dataclass
from typing import Callable, List, Optional, Set

from drivers.errors import DriverError
from drivers.skf.api import DEV_EVENT_INSERTED, DEV_EVENT_REMOVED, ULONG, Sar
from drivers.skf.device import decode
from drivers.skf.library import SkfLibrary

log = logging.getLogger(__name__)

NAME_BUFFER = 256
FAILURES_BEFORE_POLLING = 5


class DeviceEventKind(str, enum.Enum):
    INSERTED = "inserted"
    REMOVED = "removed"


@dataclass(frozen=True)
class SkfDeviceEvent:
    kind: DeviceEventKind
    library: str  # path of the SKF library that reported it
    device: str  # the device name SKF_EnumDev uses


Callback = Callable[[SkfDeviceEvent], None]


class SkfEventWatcher:
    """``subscribe`` returns an unsubscribe function; ``start`` and ``stop`` are idempotent."""

    def __init__(self, library: SkfLibrary, encoding: str = "utf-8", poll_interval: float = 1.0) -> None:
        self.library = library
        self.encoding = encoding
        self.poll_interval = poll_interval
        self.mode = (
            "wait" if library.has("SKF_WaitForDevEvent") and library.has("SKF_CancelWaitForDevEvent") else "poll"
        )
        self.last_error: Optional[str] = None
        self._subscribers: List[Callback] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    # -- subscribers -------------------------------------------------------------------------
    def subscribe(self, callback: Callback) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, kind: DeviceEventKind, raw: bytes) -> None:
        event = SkfDeviceEvent(kind, self.library.path, decode(raw, self.encoding))
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception:
                log.exception("an SKF device event subscriber failed")

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        with self._lock:
            if self.running:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"skf-events:{self.library.path}", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel the wait under way (repeatedly: a cancel that comes before the wait starts is lost) and join."""
        thread = self._thread
        self._stop.set()
        if thread is None:
            return
        waited = 0.0
        while thread.is_alive() and waited < timeout:
            if self.mode == "wait":
                self.library.call("SKF_CancelWaitForDevEvent")
            thread.join(0.1)
            waited += 0.1
        if thread.is_alive():
            log.warning("the SKF event watcher of %s did not stop within %.1f s", self.library.path, timeout)
        else:
            self._thread = None

    # -- worker ------------------------------------------------------------------------------
    def _run(self) -> None:
        if self.mode == "wait":
            self._wait_loop()
        if not self._stop.is_set():
            self._poll_loop()

    def _wait_loop(self) -> None:
        size = NAME_BUFFER
        failures = 0
        while not self._stop.is_set():
            name = create_string_buffer(size)
            length, event = ULONG(size), ULONG(0)
            code = self.library.call("SKF_WaitForDevEvent", name, byref(length), byref(event))
            if self._stop.is_set():
                return
            if code == Sar.SAR_OK and event.value in (DEV_EVENT_INSERTED, DEV_EVENT_REMOVED):
                failures = 0
                kind = DeviceEventKind.INSERTED if event.value == DEV_EVENT_INSERTED else DeviceEventKind.REMOVED
                self._emit(kind, name.raw[: min(length.value, size)])
            elif code == Sar.SAR_BUFFER_TOO_SMALL and size < length.value <= 1 << 16:
                size = int(length.value)
            elif code in (Sar.SAR_OK, Sar.SAR_NOT_EVENTERR):
                continue  # woke up without an event (a cancel meant for an earlier wait)
            elif code == Sar.SAR_NOTSUPPORTYETERR:
                break
            else:
                failures += 1
                self.last_error = f"SKF_WaitForDevEvent returned 0x{code:08X}"
                if failures >= FAILURES_BEFORE_POLLING:
                    break
                self._stop.wait(min(1.0, 0.1 * failures))
        if not self._stop.is_set():
            log.info("SKF library %s: device events by polling (%s)", self.library.path, self.last_error or "no wait")
            self.mode = "poll"

    def _names(self) -> Optional[Set[bytes]]:
        try:
            return set(self.library.read_names("SKF_EnumDev", 1))
        except DriverError as exc:
            self.last_error = str(exc)
            return None

    def _poll_loop(self) -> None:
        known = self._names() or set()
        while not self._stop.wait(self.poll_interval):
            now = self._names()
            if now is None:
                continue
            for raw in sorted(now - known):
                self._emit(DeviceEventKind.INSERTED, raw)
            for raw in sorted(known - now):
                self._emit(DeviceEventKind.REMOVED, raw)
            known = now
