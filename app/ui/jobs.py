"""Background work: one worker thread (and queue) per device, results delivered on the GUI thread.

Jobs are plain Python callables that raise typed errors; this thin adapter runs them off the GUI thread
and emits a Qt signal (a queued connection) so that the callbacks run on the GUI thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable, Dict, Optional, Tuple

from qtpy.QtCore import QObject, Signal

log = logging.getLogger(__name__)

Callback = Callable[[Any], None]
NETWORK = "network"  # service calls that touch no device (captcha, unlock request)
DISCOVERY = "discovery"  # device enumeration


class JobRunner(QObject):
    delivered = Signal(object)  # (callback, value)
    progress = Signal(str)

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self._queues: Dict[str, queue.Queue[Optional[Tuple[Callable[[], Any], Callback, Callback]]]] = {}
        self._threads: Dict[str, threading.Thread] = {}
        self._pending = 0
        self._lock = threading.Lock()
        self.delivered.connect(self._deliver)

    @property
    def idle(self) -> bool:
        with self._lock:
            return self._pending == 0

    def busy(self) -> int:
        with self._lock:
            return self._pending

    def submit(self, key: str, job: Callable[[], Any], on_done: Callback, on_error: Callback) -> None:
        """Run ``job`` on the worker of ``key`` (a device id, NETWORK, DISCOVERY) after earlier jobs there."""
        with self._lock:
            self._pending += 1
            if key not in self._queues:
                self._queues[key] = queue.Queue()
                thread = threading.Thread(target=self._work, args=(key,), name=f"job:{key}", daemon=True)
                self._threads[key] = thread
                thread.start()
            self._queues[key].put((job, on_done, on_error))

    def report(self, message: str) -> None:
        """A progress callback for flows: callable from any thread."""
        self.progress.emit(message)

    def _work(self, key: str) -> None:
        work = self._queues[key]
        while True:
            item = work.get()
            if item is None:
                return
            job, on_done, on_error = item
            try:
                result: Tuple[Callback, Any] = (on_done, job())
            except Exception as exc:  # delivered to the caller, which turns it into one dialog
                log.info("job on %s failed: %s", key, type(exc).__name__)
                result = (on_error, exc)
            self.delivered.emit(result)

    def _deliver(self, item: Tuple[Callback, Any]) -> None:
        callback, value = item
        try:
            callback(value)
        finally:
            with self._lock:
                self._pending -= 1

    def shutdown(self, timeout: float = 5.0) -> None:
        with self._lock:
            queues = list(self._queues.values())
            threads = list(self._threads.values())
        for work in queues:
            work.put(None)
        for thread in threads:
            thread.join(timeout)
