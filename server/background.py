"""The background work of a service process, on one thread: mail delivery (at once when a unit of work posted
mail, and every ``mail_poll_s`` for mail of other processes, retries and mail a dead worker claimed) and
housekeeping when it is due. Every worker process of every host runs one; the database decides who does what.
"""

from __future__ import annotations

import logging
import threading
from typing import Optional

from server.delivery import MailDelivery
from server.housekeeping import Housekeeping

log = logging.getLogger(__name__)


class Background:
    def __init__(self, delivery: MailDelivery, housekeeping: Housekeeping, poll_s: float) -> None:
        self.delivery = delivery
        self.housekeeping = housekeeping
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def wake(self) -> None:
        """Deliver now (a unit of work that posted mail has committed)."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="certassist-background", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Stop the thread, then deliver what is due once more (a command's own mail, before it exits)."""
        if self._thread is not None:
            self._stop.set()
            self._wake.set()
            self._thread.join(timeout)
            self._thread = None
        self._step()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            self._step()
            try:
                self.housekeeping.run_if_due()
            except Exception:  # the database may be away for a moment: try again next time
                log.exception("housekeeping failed")

    def _step(self) -> None:
        try:
            self.delivery.deliver_due()
        except Exception:
            log.exception("mail delivery failed")
