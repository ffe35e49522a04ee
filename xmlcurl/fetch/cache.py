"""The fetch path's per-worker cache: data behind answers, dropped when what it depends on changes.

Every entry remembers the version it was built at and its scope: what it depends on (a tenant,
shared tables, see scopes.py). The triggers record, per table and tenant, the version of the last
change; each worker reads the changes since its last poll at most every `CACHE_POLL_SECONDS` (one
small statement) and drops only the entries whose scope changed, so a change made through the
admin, the API or plain SQL is served by every worker of every instance within about that time.
A new epoch (the database created again or restored) drops everything.

When the database fails, the newest good value for the key is taken from the last-good store that
the workers of the instance share (lastgood.py); an entry superseded by a change is never served.
"""
from __future__ import annotations

import datetime as dt
import pickle
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Hashable, Mapping, TypeVar

from flask import Flask, current_app
from sqlalchemy import BigInteger, DateTime, Integer, String, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .. import metrics
from .lastgood import LastGoodStore, sync_op, write_ops
from .scopes import EVERYTHING, Scope, is_user_change, names_user, of_change

T = TypeVar("T")

#: What an entry costs beyond its pickled value (the key, the entry, the dict slot), in bytes: tracemalloc
#: counted 320-360 for a directory user's entry besides its value, and its key's domain and user names
#: (strings of their own, parsed from each fetch) add about 130. Kept answers are small (compact.py), so
#: this is most of an entry's memory: counted any lower, the cache outgrows XMLCURL_CACHE_MAX_BYTES.
ENTRY_OVERHEAD = 500
#: What a user's answer costs besides: its scope is its own (a tuple, and the user's scope string).
USER_SCOPE_OVERHEAD = 120
#: Changes to single users (scopes.user) a worker remembers before it forgets them (`_forget_user_changes`):
#: a busy platform changes thousands of users a day, each a scope of its own.
USER_CHANGES_KEPT = 20_000
#: After the store could not take them: seconds before the worker tries to forget them again.
FORGET_RETRY_SECONDS = 60.0
#: How long forgetting waits for a store another process is writing (it runs on a fetch's thread).
FORGET_BUSY_MS = 250

#: The poll: the version, its epoch, and the (table, tenant) of every change after the version last
#: seen, in one round trip (the index on config_changes.version makes it read only what changed).
POLL = text(
    "SELECT v.version, v.epoch, v.changed_at, c.table_name, c.tenant_id, c.detail, c.version AS change_version "
    "FROM config_version v LEFT JOIN config_changes c ON c.version > :since AND c.version <= v.version "
    "WHERE v.id = 1"
).columns(version=BigInteger, epoch=String, changed_at=DateTime, table_name=String, tenant_id=Integer,
          detail=String, change_version=BigInteger)
#: `since` for a poll that needs no changes (the first one, with nothing cached).
NOTHING_SINCE = 2**62
_MISSING = object()


def changes_lost(known_epoch: str | None, known_version: int | None, epoch: str, version: int,
                 changes_seen: int) -> bool:
    """Whether what was read at (known_epoch, known_version) can no longer be checked change by change
    against a poll that found `changes_seen` ring rows up to (epoch, version): a new epoch (another
    database), a version gone back (a restore), or fewer rows than versions (every version has its
    change in the ring until CHANGE_SLOTS later ones overwrite it: the reader fell too far behind).
    Nothing known yet: nothing lost."""
    if known_epoch is None:
        return False
    if epoch != known_epoch:
        return True
    return known_version is not None and (version < known_version or changes_seen < version - known_version)


@dataclass(frozen=True)
class Poll:
    """What one POLL read: the version, its epoch and when it changed, the newest change to each scope
    after the version asked from, and how many change rows were found (see `changes_lost`)."""

    version: int
    epoch: str
    changed_at: dt.datetime | None
    changed: dict[str, int]
    seen: int


def read_changes(conn: Any, since: int) -> Poll | None:
    """The version and the scopes changed after `since` (POLL, on a session or connection); None when the
    database holds no version row."""
    rows = conn.execute(POLL, {"since": since}).all()
    if not rows:
        return None
    changed: dict[str, int] = {}
    seen = 0
    for row in rows:
        if row.table_name is not None:
            seen += 1
            at = int(row.change_version)
            for scope in of_change(row.table_name, int(row.tenant_id), row.detail):
                if changed.get(scope, 0) < at:
                    changed[scope] = at
    return Poll(int(rows[0].version), rows[0].epoch, rows[0].changed_at, changed, seen)


def _no_lookups() -> dict[str, dict[str, int]]:
    """Lookup counts by result and kind, all at zero (the shape metrics.FetchTally.add_lookups takes)."""
    return {result: {kind: 0 for kind in metrics.CACHE_KINDS} for result in ("hit", "shared", "miss")}


@dataclass(frozen=True, slots=True)
class Entry:
    version: int
    scope: Scope
    value: Any
    size: int


class FetchCache:
    """A bounded LRU of loaded data, keyed by the caller (node id first), checked against what changed.

    Values must be immutable plain data (frozen dataclasses, tuples, None): they are shared by the
    requests and threads of the worker, measured (and kept in the last-good store) pickled.
    """

    def __init__(self, max_entries: int, max_bytes: int, poll_seconds: float,
                 clock: Callable[[], float] = time.monotonic, store: LastGoodStore | None = None) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.poll_seconds = poll_seconds
        self.store = store
        self._clock = clock
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._polling = False
        #: The last version read from the database, its epoch, when it was read, the row's changed_at.
        self.version: int | None = None
        self.epoch: str | None = None
        self.changed_at: dt.datetime | None = None
        self.polled_at: float | None = None
        self._poll_due = float("-inf")
        #: Per scope, the version of the newest change to it this worker knows of.
        self._changed: dict[str, int] = {}
        #: How many of `_changed` are single users' changes, and the version they were last forgotten at:
        #: an answer of a user built before it may be superseded by a change forgotten, and is not kept.
        self._user_changes = 0
        self._user_changes_forgotten = 0
        self._forget_retry_at = float("-inf")
        self._scope_tuples: dict[Scope, Scope] = {}
        #: The version this worker last dropped everything at: store entries built before it are not taken
        #: on a miss (see `_poll`).
        self._shared_floor = 0
        #: Set by a failed poll or load, cleared by the next successful poll.
        self.degraded = False
        #: Set by a failed poll, cleared by the next successful one: until then this worker cannot tell
        #: which version, or which database (a new epoch), a statement reads, so what it loads is served
        #: and not kept (here or in the last-good store), never filed under a version it did not come from.
        self.unverified = False
        #: Lookups found here, found current in the last-good store (`shared`), loaded, served stale.
        self.hits = self.shared = self.misses = self.stale = 0
        #: Times everything was dropped: a new epoch, or the version went back.
        self.resets = 0
        #: Lookups not yet added to the metric, result -> kind -> count: a fetch makes several lookups and
        #: reports them at once.
        self._unreported = _no_lookups()

    # --- the version -------------------------------------------------------------------------

    def refresh(self, open_session: Callable[[], Session]) -> None:
        """Poll for changes if the last poll is older than the interval; never raises on DB errors.

        Only one thread of the worker polls at a time; the others go on with what they have.
        `open_session` is called only when a poll is due.
        """
        now = self._clock()
        with self._lock:
            if self._polling or now < self._poll_due:
                return
            self._polling = True
            self._poll_due = now + self.poll_seconds
        try:
            self._poll(open_session, now)
        finally:
            with self._lock:
                self._polling = False

    def _poll(self, open_session: Callable[[], Session], now: float) -> None:
        first = self.version is None
        store_epoch = store_position = None
        if first and self.store is not None:
            # Learn what changed since the store (a previous run, the other workers) last looked.
            store_epoch, store_position, _ = self._store_state(NOTHING_SINCE)
        since = self.version if not first else (store_position if store_position is not None else NOTHING_SINCE)
        session: Session | None = None
        try:
            session = open_session()
            poll = read_changes(session, since)
        except SQLAlchemyError:
            if session is not None:
                session.rollback()
            self.degraded = self.unverified = True
            metrics.DATABASE_ERRORS.labels("version poll").inc()
            self._adopt_store()
            return
        if poll is None:
            self.degraded = self.unverified = True
            return
        version, epoch, changed_at, changed, seen = poll.version, poll.epoch, poll.changed_at, poll.changed, poll.seen
        # The first poll of a worker may find the store ahead of the database in the same epoch (the
        # database was restored from a backup, and the store's entries are of the lost future) or
        # further behind than the ring reaches: it starts over. (A store of another epoch starts over
        # in any case.)
        went_back = first and self.store is not None and changes_lost(store_epoch, store_position, epoch,
                                                                      version, seen)
        with self._lock:
            reset = changes_lost(self.epoch, self.version, epoch, version, seen)
            if reset:
                self._drop_all()
            if reset or went_back:
                # Until the writer has emptied the store, it still holds entries whose changes this
                # worker cannot know (lost, or of the lost future): a miss takes only later builds.
                self._shared_floor = version
            self._merge(changed)
            self.version, self.epoch, self.changed_at = version, epoch, changed_at
            self.polled_at = now
            self.degraded = self.unverified = False
        if self.store is not None and (changed or first or reset):
            self.store.sync(epoch, version, changed, reset=reset or went_back, polled=now)
        if self._user_changes > USER_CHANGES_KEPT:
            self._forget_user_changes(now)
        metrics.observe_poll(version, changed_at)

    def _forget_user_changes(self, polled: float) -> None:
        """Forget the single users' changes (they grow with every user changed): the entries they superseded
        are dropped first, so every entry kept was built after them, and an answer of a user built before
        now is not kept (`_store`). The last-good store's readers check its own record of them: each is
        forgotten only once read back from it (written again first, on a connection of this call's own)."""
        now = self._clock()
        if now < self._forget_retry_at:
            return
        with self._lock:
            epoch, version = self.epoch, self.version
            if epoch is None or version is None:
                return
            # Those up to this version: a newer one (the store's, taken on during an outage) stays known.
            users = {scope: at for scope, at in self._changed.items() if is_user_change(scope) and at <= version}
        if self.store is None:
            recorded = set(users)
        else:
            try:
                recorded = _record_in_store(self.store, epoch, version, users, polled)
            except sqlite3.Error:  # busy or failing: try again later, remembering them until then
                self._forget_retry_at = now + FORGET_RETRY_SECONDS
                return
        with self._lock:
            if (self.epoch, self.version) != (epoch, version):  # a poll came in between (a reset, say)
                return
            for key in [key for key, entry in self._entries.items() if not self._valid(entry)]:
                self._bytes -= self._entries.pop(key).size
            self._changed = {scope: at for scope, at in self._changed.items()
                             if not (scope in recorded and at <= version)}
            self._user_changes = sum(1 for scope in self._changed if is_user_change(scope))
            self._user_changes_forgotten = version
        if self._user_changes > USER_CHANGES_KEPT:  # the store kept too few of them: not again at once
            self._forget_retry_at = now + FORGET_RETRY_SECONDS

    def _merge(self, changed: Mapping[str, int]) -> None:
        known = self._changed
        for scope, at in changed.items():
            before = known.get(scope)
            if before is None and is_user_change(scope):
                self._user_changes += 1
            if (before or 0) < at:
                known[scope] = at

    def _drop_all(self) -> None:
        self._entries.clear()
        self._bytes = 0
        self._changed = {}
        self._user_changes = self._user_changes_forgotten = 0
        self._scope_tuples = {}
        self.resets += 1

    def _store_state(self, since: int | None) -> tuple[str | None, int | None, dict[str, int]]:
        try:
            return self.store.state(since)  # type: ignore[union-attr]
        except sqlite3.Error:
            return None, None, {}

    def _adopt_store(self) -> None:
        """The database failed: take on what the other workers saw before it did (their newer changes,
        or a new epoch), so this worker serves no entry they know to be superseded."""
        if self.store is None:
            return
        # This worker's own notes first: then a store position below its version means a reset.
        self.store.flush()
        epoch, position, changed = self._store_state(self.version if self.epoch is not None else None)
        if epoch is None:
            return
        with self._lock:
            went_back = position is not None and self.version is not None and position < self.version
            if self.epoch != epoch or went_back:
                if self.epoch is not None:
                    self._drop_all()
                self.epoch, self.version = epoch, position
            self._merge(changed)

    def can_serve(self) -> bool:
        """Whether anything could be answered without the database: entries here or in the last-good store."""
        if self.version is not None and len(self._entries):
            return True
        if self.store is None or self.epoch is None:
            return False
        try:
            return self.store.holds(self.epoch)
        except sqlite3.Error:
            return False

    def report_lookups(self) -> None:
        """Add the hits and misses counted since the last call to the lookup metric (once per fetch, not per lookup)."""
        with self._lock:
            lookups = self._unreported
            if not any(any(counts.values()) for counts in lookups.values()):
                return
            self._unreported = _no_lookups()
        metrics.TALLY.add_lookups(lookups)

    def seconds_since_poll(self) -> float | None:
        return None if self.polled_at is None else self._clock() - self.polled_at

    # --- entries -----------------------------------------------------------------------------

    def get_or_load(self, key: Hashable, loader: Callable[[], T],
                    recover: Callable[[], None] | None = None,
                    scope: Scope | Callable[[Any], Scope] = EVERYTHING, kind: str = "answer",
                    last_good: bool = True) -> T:
        """The value for `key`, loaded again when a scope it depends on changed since it was loaded.

        `scope` may be a function of the loaded value, for lookups whose tenant is known only from their
        result (a tenant by domain: its own tenant when found, any tenant row when not).

        `kind` (metrics.CACHE_KINDS) says what the lookup is counted as in xmlcurl_cache_lookups.

        A miss is looked up in the last-good store before it is loaded: a value another worker (or an
        earlier run) built at a version this worker has reached, that no change it or the store knows of
        superseded, is served and kept here (counted as `shared`). The store outlives the workers'
        memory, bounded only by the disk: a worker meeting more users than it can keep reads them there.

        If loading fails with a database error, the newest good value for the key that no known change
        superseded is served from the last-good store (and `recover` is called so the session can be
        used again); with none, the error propagates. With `last_good` False (a value that serves no
        answer by itself during an outage) the store is neither written nor read. A value loaded while the
        worker is `unverified` (its last poll failed) is returned and not kept.
        """
        version, epoch, unverified = self.version, self.epoch, self.unverified
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self._valid(entry):
                self._entries.move_to_end(key)
                self.hits += 1
                self._unreported["hit"][kind] += 1
                return entry.value
        # Whether what is loaded now is of a known version of a known database, and so may be kept.
        current = version is not None and epoch is not None and not unverified
        if current and last_good and self.store is not None:
            shared = self._shared(key, epoch, version, self._shared_floor)  # type: ignore[arg-type]
            if shared is not _MISSING:
                with self._lock:
                    self.shared += 1
                    self._unreported["shared"][kind] += 1
                return shared  # type: ignore[return-value]
        with self._lock:
            self.misses += 1
            self._unreported["miss"][kind] += 1
        try:
            value = loader()
        except SQLAlchemyError:
            if recover is not None:
                recover()
            self.degraded = True
            good = self._last_good(key) if last_good else _MISSING
            if good is _MISSING:
                raise
            with self._lock:
                self.stale += 1
            metrics.DATABASE_ERRORS.labels("load").inc()
            metrics.CACHE_STALE[kind].inc()
            return good  # type: ignore[return-value]
        if current:
            # Pickled once: its size bounds the memory, the bytes go to the last-good store.
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            if callable(scope):
                scope = scope(value)
            scope = self._store(key, version, scope, value, len(data), epoch)  # type: ignore[arg-type]
            if self.store is not None and last_good:
                self.store.put(repr(key), epoch, version, scope, data)
        return value

    def _valid(self, entry: Entry) -> bool:
        changed = self._changed
        for scope in entry.scope:
            if changed.get(scope, 0) > entry.version:
                return False
        return True

    def _shared(self, key: Hashable, epoch: str, version: int, floor: int) -> Any:
        """A miss found current in the last-good store (another worker, or an earlier run, loaded it) and
        built at `floor` or later, kept here under the version it was built at; _MISSING when there is none."""
        try:
            found = self.store.shared(repr(key), epoch, (floor, version), self._changed)  # type: ignore[union-attr]
        except sqlite3.Error:
            return _MISSING
        if found is None:
            return _MISSING
        built, scope, data = found
        try:
            value = pickle.loads(data)
        except Exception:  # an entry this code cannot read (written by another version): load it afresh
            return _MISSING
        self._store(key, built, scope, value, len(data), epoch)
        return value

    def _last_good(self, key: Hashable) -> Any:
        """The store's newest value for `key` that no change known here or to any worker superseded."""
        if self.store is None:
            return _MISSING
        if self.epoch is None:
            self._adopt_store()
        epoch = self.epoch
        if epoch is None:
            return _MISSING
        try:
            data = self.store.current(repr(key), epoch, dict(self._changed))
        except sqlite3.Error:
            return _MISSING
        return _MISSING if data is None else pickle.loads(data)

    def _store(self, key: Hashable, version: int, scope: Scope, value: Any, pickled_size: int, epoch: str) -> Scope:
        """Keep `value`, built at (epoch, version), whose pickled form takes `pickled_size` bytes; the scope
        tuple kept with it (one per distinct scope, shared by its entries: a tenant's thousands of answers;
        a user's answer has one of its own)."""
        user = names_user(scope)
        if user:  # its own tuple and name; the tenant's parts shared (an entry from the store has its own copies)
            tenant_part = scope[:-1]
            scope = self._scope_tuples.setdefault(tenant_part, tenant_part) + scope[-1:]
        else:
            scope = self._scope_tuples.setdefault(scope, scope)
        entry = Entry(version, scope, value, pickled_size + ENTRY_OVERHEAD + (USER_SCOPE_OVERHEAD if user else 0))
        with self._lock:
            if epoch != self.epoch:  # built before a reset: its version means nothing now
                return scope
            if user and version < self._user_changes_forgotten:  # a change forgotten may supersede it
                return scope
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            if entry.size > self.max_bytes:
                return scope
            self._entries[key] = entry
            self._bytes += entry.size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size
        return scope

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes


def _record_in_store(store: LastGoodStore, epoch: str, version: int, changed: Mapping[str, int],
                     polled: float) -> set[str]:
    """Write `changed` (a poll's view at `version`) to the store at once, and return those of its scopes the
    store now records at their version or later (a sync it skipped, being of a newer start, records none);
    sqlite3.Error when it cannot be written or read."""
    conn = store.connect()
    try:
        conn.execute(f"PRAGMA busy_timeout = {FORGET_BUSY_MS}")
        write_ops(conn, [sync_op(epoch, version, changed, False, store.database, polled)])
        if not changed:
            return set()
        stored = dict(conn.execute("SELECT scope, version FROM scopes WHERE version >= ?", (min(changed.values()),)))
    finally:
        conn.close()
    return {scope for scope, at in changed.items() if stored.get(scope, -1) >= at}


# --- one cache per app (per worker process under gunicorn) ------------------------------------

_create_lock = threading.Lock()


def create_cache(settings: Mapping[str, Any], instance_path: str | None = None) -> FetchCache | None:
    """The cache the settings ask for, or None when XMLCURL_CACHE is off."""
    if not settings["CACHE"]:
        return None
    return FetchCache(settings["CACHE_MAX_ENTRIES"], settings["CACHE_MAX_BYTES"], settings["CACHE_POLL_SECONDS"],
                      store=last_good_store(settings, instance_path))


def last_good_store(settings: Mapping[str, Any], instance_path: str | None = None) -> LastGoodStore | None:
    """The instance's last-good store as the settings place it (XMLCURL_LAST_GOOD_DIR, else the instance
    folder's last-good/), or None when it is off."""
    where = settings.get("LAST_GOOD_DIR", "")
    if where == "off" or not (where or instance_path):
        return None
    url = settings.get("DATABASE_URL")
    # The database by its URL without the password (a new password is the same database).
    database = make_url(url).render_as_string(hide_password=True) if url else "embedded"
    return LastGoodStore(where or Path(instance_path) / "last-good", database)  # type: ignore[arg-type]


def fetch_cache(app: Flask | None = None) -> FetchCache | None:
    """This app's cache, created on first use (None when switched off)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        return app.extensions["xmlcurl.cache"]
    except KeyError:
        with _create_lock:
            return app.extensions.setdefault("xmlcurl.cache", create_cache(app.config["XMLCURL"], app.instance_path))
