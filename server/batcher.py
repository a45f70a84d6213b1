"""Run submitted work in batches on a few threads, so many requests share one database transaction.

Requests that arrive while a batch is being processed form the next batch: nothing waits for a batch to
fill, so a lone request is handled at once and batching appears only under load.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from typing import Callable, Generic, List, Optional, Sequence, Tuple, TypeVar, Union

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")
Outcome = Union[Out, BaseException]


class Batcher(Generic[In, Out]):
    """``handle(items)`` returns one outcome per item: its result, or the exception to raise for it.

    ``threads`` batches may be handled at once; each thread takes what is queued when it is free.
    """

    def __init__(
        self, handle: Callable[[Sequence[In]], List[Outcome[Out]]], max_batch: int, name: str, threads: int = 1
    ) -> None:
        self._handle = handle
        self._max_batch = max_batch
        self._name = name
        self._threads = threads
        self._queue: queue.SimpleQueue[Optional[Tuple[In, Future[Out]]]] = queue.SimpleQueue()
        self._running: List[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, item: In) -> Future[Out]:
        future: Future[Out] = Future()
        with self._lock:  # started on first use: the operator CLI never pays for the threads
            if self._closed:
                raise RuntimeError(f"{self._name} is closed")
            if not self._running:
                for number in range(self._threads):
                    thread = threading.Thread(target=self._run, name=f"{self._name}-{number}", daemon=True)
                    thread.start()
                    self._running.append(thread)
            self._queue.put((item, future))
        return future

    def close(self, timeout: float = 60.0) -> None:
        """Finish what was submitted, then stop the threads."""
        with self._lock:
            self._closed = True
            running = list(self._running)
        for _thread in running:
            self._queue.put(None)  # one stop mark per thread
        for thread in running:
            thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    queued = self._queue.get_nowait()
                except queue.Empty:
                    break
                if queued is None:  # close(): finish this batch, then stop
                    stopping = True
                    break
                batch.append(queued)
            self._run_batch(batch)

    def _run_batch(self, queued: List[Tuple[In, Future[Out]]]) -> None:
        # A request whose waiter gave up (a cancelled asyncio task cancels its wrapped future) is dropped;
        # the others can no longer be cancelled.
        batch = [(item, future) for item, future in queued if future.set_running_or_notify_cancel()]
        if not batch:
            return
        try:
            outcomes = self._handle([item for item, _future in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"{self._name}: {len(outcomes)} outcomes for {len(batch)} items")
        except BaseException as exc:  # the waiting requests must get an answer, never hang
            log.exception("%s: a batch of %d failed", self._name, len(batch))
            outcomes = [exc] * len(batch)
        for (_item, future), outcome in zip(batch, outcomes):
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
