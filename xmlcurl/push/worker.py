"""The background side: one queue and one daemon thread per process, and the recent results kept for display."""
from __future__ import annotations

import collections
import logging
import os
import queue
import threading
import time
from typing import Any, Callable, Mapping, Sequence

from .plan import NodePlan
from .runner import NodeResult, run_plans

log = logging.getLogger("xmlcurl.push")

RECENT = 200


class Pusher:
    """Runs submitted plans in a daemon thread, so no admin or API request waits for a node."""

    def __init__(self, run: Callable[..., list[NodeResult]] = run_plans,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self._run = run
        self._clock = clock
        self._sleep = sleep
        self._queue: queue.Queue[tuple[Sequence[NodePlan], Mapping[str, Any], float]] = queue.Queue()
        self._recent: collections.deque[NodeResult] = collections.deque(maxlen=RECENT)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def submit(self, plans: Sequence[NodePlan], settings: Mapping[str, Any]) -> None:
        """Queue PLANS; they run once every worker's fetch cache can have seen the commit (see settle_seconds)."""
        if plans:
            self._ensure_thread()
            self._queue.put((list(plans), dict(settings), self._clock() + settle_seconds(settings)))

    def recent(self) -> list[NodeResult]:
        """The latest results of this process, newest first."""
        with self._lock:
            return list(reversed(self._recent))

    def record(self, results: Sequence[NodeResult]) -> None:
        with self._lock:
            self._recent.extend(results)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until everything submitted has run (tests, shutdown); False on timeout."""
        done = threading.Event()

        def joiner() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=joiner, daemon=True).start()
        return done.wait(timeout)

    def _ensure_thread(self) -> None:
        # A thread does not survive gunicorn's fork: start one in each worker on first use.
        with self._lock:
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._loop, name="xmlcurl-push", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            plans, settings, not_before = self._queue.get()
            try:
                wait = not_before - self._clock()
                if wait > 0:
                    self._sleep(wait)
                self.record(self._run(plans, settings))
            except Exception:  # noqa: BLE001 - one bad batch must not stop later pushes
                log.exception("push batch failed")
            finally:
                self._queue.task_done()


def settle_seconds(settings: Mapping[str, Any]) -> float:
    """How long after a commit a node's re-fetch is sure to get the new answer: each worker reads the
    config version at most every CACHE_POLL_SECONDS, so a rescan sent at once could be answered from
    a cache that has not seen the commit yet (and the node would keep the old gateway or remote)."""
    return float(settings.get("CACHE_POLL_SECONDS") or 0) if settings.get("CACHE") else 0.0


PUSHER = Pusher()
