"""Group commit: webhooks that arrive together are stored in one transaction, then each is answered.

Each webhook's rows (item, follow-up, outbox) still commit atomically and before its 202, as before;
what changes is that webhooks waiting at the same moment share the BEGIN and the COMMIT. Per item
that halves the database work (bench: SQLite 4.4 → 2.3 ms, Postgres 10.7 → 5.1 ms for batches of 8)
and, on SQLite, takes the write lock once per batch instead of once per webhook, so the web process
and the delivery worker fight over it far less.

One writer thread takes whatever is queued (at most MAX_BATCH) as soon as the last batch is done: a
lone webhook is written at once, with no waiting for company. If anything in a batch fails, the batch
is rolled back and each of its works is retried in a transaction of its own, so one bad webhook
cannot fail another, and each gets its own result or exception.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.db import session_scope

MAX_BATCH = 64

log = logging.getLogger(__name__)

Work = Callable[[Session], Any]


class GroupCommitWriter:
    def __init__(self, factory: sessionmaker[Session], *, max_batch: int = MAX_BATCH):
        self.factory = factory
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[Work, Future] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, work: Work) -> Future:
        """Run `work(session)` in the next transaction; the future resolves once it has committed."""
        future: Future = Future()
        self._ensure_started()
        self._queue.put((work, future))
        return future

    def _ensure_started(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="cxloop-group-commit", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is queued, then end the thread."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            while len(batch) < self.max_batch:
                try:
                    entry = self._queue.get_nowait()
                except queue.Empty:
                    break
                if entry is None:
                    stopping = True
                    break
                batch.append(entry)
            self._write(batch)
            if stopping:
                return

    def _write(self, batch: list[tuple[Work, Future]]) -> None:
        live = [(work, future) for work, future in batch if future.set_running_or_notify_cancel()]
        if not live:
            return
        if len(live) > 1:
            try:
                with session_scope(self.factory) as session:
                    results = [work(session) for work, _future in live]
            except Exception as exc:  # noqa: BLE001 — retried one by one below, each with its own answer
                log.debug("group commit of %d failed (%s); writing each alone", len(live), type(exc).__name__)
            else:
                for (_work, future), result in zip(live, results, strict=True):
                    future.set_result(result)
                return
        for work, future in live:
            try:
                with session_scope(self.factory) as session:
                    result = work(session)
            except BaseException as exc:  # noqa: BLE001 — handed to the waiting request, which answers it
                future.set_exception(exc)
            else:
                future.set_result(result)
