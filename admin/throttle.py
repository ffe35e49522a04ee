"""Login throttling: too many failed logins for one username from one address are refused for a while.

In-process (one table per worker): under gunicorn each worker counts its own failures, so an
attacker gets at most `limit` tries per window per worker; argon2 makes each try slow anyway.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from typing import Callable


class LoginThrottle:
    """Counts failed logins per (username, address) in a sliding window; bounded in memory."""

    def __init__(self, limit: int = 5, window_seconds: float = 900.0, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window_seconds
        self._max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(username: str, address: str) -> tuple[str, str]:
        return (username.strip().lower()[:128], address)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until this username may try again from this address; 0 when it may now."""
        now = self._clock()
        with self._lock:
            times = self._recent(self._key(username, address), now)
            if len(times) < self.limit:
                return 0.0
            return max(0.0, times[-self.limit] + self.window - now)

    def failed(self, username: str, address: str) -> None:
        key = self._key(username, address)
        now = self._clock()
        with self._lock:
            times = self._failures.setdefault(key, deque(maxlen=self.limit))
            times.append(now)
            self._failures.move_to_end(key)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop(self._key(username, address), None)
