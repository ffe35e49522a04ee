"""The fetch path's per-worker cache: data behind answers, valid for one configuration version.

Every entry remembers the `config_version` it was loaded under and is served only while that is
still the current version. The version is polled from the database at most every
`CACHE_POLL_SECONDS`, so a change made through the admin, the API or plain SQL (the triggers bump
the version) is served by every worker of every instance within about that time, no restart.
When the database fails, the last good entry for the same key is served (stale-if-error).
"""
from __future__ import annotations

import datetime as dt
import pickle
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Mapping, TypeVar

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .. import metrics
from ..models import ConfigVersion

T = TypeVar("T")

#: What an entry costs beyond its pickled value (the key, the entry, the dict slot), in bytes.
ENTRY_OVERHEAD = 200


@dataclass(frozen=True)
class Entry:
    version: int
    value: Any
    size: int


class FetchCache:
    """A bounded LRU of loaded data, keyed by the caller (node id first), checked against the version.

    Values must be immutable plain data (frozen dataclasses, tuples, None): they are shared by the
    requests and threads of the worker, and measured by their pickled size.
    """

    def __init__(self, max_entries: int, max_bytes: int, poll_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.poll_seconds = poll_seconds
        self._clock = clock
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._polling = False
        #: The last version read from the database, when it was read, and the row's changed_at.
        self.version: int | None = None
        self.changed_at: dt.datetime | None = None
        self.polled_at: float | None = None
        self._poll_due = float("-inf")
        #: Set by a failed poll or load, cleared by the next successful poll.
        self.degraded = False
        self.hits = self.misses = self.stale = 0
        #: Hits not yet added to the metric: a fetch makes several lookups and reports them at once.
        self._unreported_hits = 0

    # --- the version -------------------------------------------------------------------------

    def refresh(self, open_session: Callable[[], Session]) -> None:
        """Poll the version if the last poll is older than the interval; never raises on DB errors.

        Only one thread of the worker polls at a time; the others go on with the version they have.
        `open_session` is called only when a poll is due.
        """
        now = self._clock()
        with self._lock:
            if self._polling or now < self._poll_due:
                return
            self._polling = True
            self._poll_due = now + self.poll_seconds
        session: Session | None = None
        try:
            session = open_session()
            row = session.execute(
                select(ConfigVersion.version, ConfigVersion.changed_at).where(ConfigVersion.id == 1)
            ).first()
        except SQLAlchemyError:
            if session is not None:
                session.rollback()
            self.degraded = True
            metrics.DATABASE_ERRORS.labels("version poll").inc()
            return
        finally:
            with self._lock:
                self._polling = False
        if row is None:
            self.degraded = True
            return
        with self._lock:
            self.version, self.changed_at = int(row.version), row.changed_at
            self.polled_at = now
            self.degraded = False
        metrics.observe_poll(self.version, self.changed_at)

    def report_hits(self) -> None:
        """Add the hits counted since the last call to the lookup metric (once per fetch, not per lookup)."""
        with self._lock:
            hits, self._unreported_hits = self._unreported_hits, 0
        if hits:
            metrics.TALLY.add_hits(hits)

    def seconds_since_poll(self) -> float | None:
        return None if self.polled_at is None else self._clock() - self.polled_at

    # --- entries -----------------------------------------------------------------------------

    def get_or_load(self, key: Hashable, loader: Callable[[], T],
                    recover: Callable[[], None] | None = None) -> T:
        """The value for `key` loaded under the current version, loading it on a miss.

        If loading fails with a database error, the last good value for the key is served (and
        `recover` is called so the session can be used again); with none, the error propagates.
        """
        version = self.version
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and version is not None and entry.version == version:
                self._entries.move_to_end(key)
                self.hits += 1
                self._unreported_hits += 1
                return entry.value
            self.misses += 1
        metrics.CACHE_MISS.inc()
        try:
            value = loader()
        except SQLAlchemyError:
            if recover is not None:
                recover()
            self.degraded = True
            if entry is None:
                raise
            with self._lock:
                self.stale += 1
            metrics.DATABASE_ERRORS.labels("load").inc()
            metrics.CACHE_STALE.inc()
            return entry.value
        if version is not None:
            self._store(key, Entry(version, value, _size(value)))
        return value

    def _store(self, key: Hashable, entry: Entry) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            if entry.size > self.max_bytes:
                return
            self._entries[key] = entry
            self._bytes += entry.size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes


def _size(value: Any) -> int:
    """An estimate of what the entry holds in memory: its pickled size plus a fixed overhead."""
    if isinstance(value, bytes):
        return len(value) + ENTRY_OVERHEAD
    return len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)) + ENTRY_OVERHEAD


# --- one cache per app (per worker process under gunicorn) ------------------------------------

_create_lock = threading.Lock()


def create_cache(settings: Mapping[str, Any]) -> FetchCache | None:
    """The cache the settings ask for, or None when XMLCURL_CACHE is off."""
    if not settings["CACHE"]:
        return None
    return FetchCache(settings["CACHE_MAX_ENTRIES"], settings["CACHE_MAX_BYTES"], settings["CACHE_POLL_SECONDS"])


def fetch_cache(app: Flask | None = None) -> FetchCache | None:
    """This app's cache, created on first use (None when switched off)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        return app.extensions["xmlcurl.cache"]
    except KeyError:
        with _create_lock:
            return app.extensions.setdefault("xmlcurl.cache", create_cache(app.config["XMLCURL"]))
