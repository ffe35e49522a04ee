"""The recent fetches that did not find or were refused: a small ring buffer per worker, for the admin dashboard."""
from __future__ import annotations

import datetime as dt
import threading
from collections import deque
from dataclasses import dataclass
from typing import MutableMapping

EXTENSION_KEY = "xmlcurl.recent_fetch_failures"


@dataclass(frozen=True)
class FetchFailure:
    at: dt.datetime
    node: str
    section: str
    key: str
    status: int
    result: str
    peer: str


class RecentFailures:
    """The last `size` non-OK fetches of this worker (an HTTP error, or a 'not found' answer)."""

    def __init__(self, size: int = 200) -> None:
        self._items: deque[FetchFailure] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, node: str, section: str, key: str, status: int, result: str, peer: str) -> None:
        item = FetchFailure(dt.datetime.now(dt.timezone.utc).replace(microsecond=0), node[:64], section[:32],
                            key[:128], status, result[:200], peer[:64])
        with self._lock:
            self._items.append(item)

    def newest(self, limit: int = 50) -> list[FetchFailure]:
        with self._lock:
            return list(reversed(self._items))[:limit]


def recent_failures(extensions: MutableMapping[str, object]) -> RecentFailures:
    """The app's buffer (app.extensions), created on first use."""
    found = extensions.get(EXTENSION_KEY)
    if not isinstance(found, RecentFailures):
        found = RecentFailures()
        extensions[EXTENSION_KEY] = found
    return found
