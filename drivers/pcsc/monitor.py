"""Card insertion/removal events for the tray: a pyscard CardMonitor with a plain-Python callback."""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from typing import Any, Callable


class CardEventKind(str, enum.Enum):
    INSERTED = "inserted"
    REMOVED = "removed"


@dataclass(frozen=True)
class CardEvent:
    kind: CardEventKind
    reader: str
    atr: bytes


class CardWatcher:
    """Calls ``callback(CardEvent)`` from pyscard's monitor thread on every insertion and removal.

    ``start()`` raises DriverUnavailable when the PC/SC service is not running; ``stop()`` is idempotent.
    """

    def __init__(self, callback: Callable[[CardEvent], None]) -> None:
        self._callback = callback
        self._monitor: Any = None
        self._observer: Any = None
        self._lock = threading.Lock()

    def start(self) -> None:
        from smartcard.CardMonitoring import CardMonitor, CardObserver

        from drivers.pcsc.driver import list_readers

        watcher = self

        class _Observer(CardObserver):  # type: ignore[misc]
            def update(self, _observable: Any, handlers: Any) -> None:
                added, removed = handlers
                for card in removed:
                    watcher._emit(CardEventKind.REMOVED, card)
                for card in added:
                    watcher._emit(CardEventKind.INSERTED, card)

        with self._lock:
            if self._monitor is not None:
                return
            list_readers()  # raises DriverUnavailable with the fix when the service is not running
            self._monitor = CardMonitor()
            self._observer = _Observer()
            self._monitor.addObserver(self._observer)

    def _emit(self, kind: CardEventKind, card: Any) -> None:
        self._callback(CardEvent(kind, str(card.reader), bytes(card.atr or b"")))

    def stop(self) -> None:
        with self._lock:
            monitor, observer = self._monitor, self._observer
            self._monitor = self._observer = None
        if monitor is not None and observer is not None:
            monitor.deleteObserver(observer)
