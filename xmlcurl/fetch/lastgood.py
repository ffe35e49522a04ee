"""The last-good store: the newest answer data of every key, shared by the workers of an instance.

A SQLite file (WAL) on local disk, opened and written behind the fetches by a thread of each worker;
read on a worker's cache miss (another worker may have built the answer) and while the database
fails. Every entry is recorded with the epoch and version it was built at and the scopes it depends
on; the store also keeps, per scope, the version of the newest change any worker has seen. An entry
whose scope changed after it was built is never served, so every worker serves the same, newest good
answer, or none.

The store also names the database it was filled from (a digest of its URL): a worker that never
reached its database takes on the store's epoch only if it is configured for that same database,
so an instance pointed at another database never answers from the old one's entries.
"""
from __future__ import annotations

import hashlib
import logging
import os
import queue
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Iterable, Mapping

from .scopes import Scope

log = logging.getLogger("xmlcurl.lastgood")

#: Writes waiting for the writer thread; beyond this, new entries are dropped (a fetch never waits).
QUEUE_LIMIT = 20_000
#: Most writes in one transaction.
BATCH = 500
#: How often an idle writer checks whether its store still exists.
IDLE_CHECK_SECONDS = 2.0
#: How long the writer gathers entries after the first before it commits them: a transaction per
#: entry cost ~0.2 ms of the worker's CPU, as much as the fetch that loaded it, when misses come one
#: at a time (a cache meeting users it has not seen); an entry is on disk within this much later.
GATHER_SECONDS = 0.05

#: The store's file, named anew when what an entry's scope means changed: since a user's answer depends on
#: the changes naming that user rather than on any change to its tenant, an older xmlcurl (a rollback, the
#: old workers of a rolling restart) reading the new entries would miss the changes that supersede them;
#: it never opens this file. The old file (last-good.sqlite3) is left for it.
STORE_FILE = "last-good-2.sqlite3"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), epoch TEXT, position INTEGER, "
    "database TEXT, boot TEXT, started REAL)",
    "CREATE TABLE IF NOT EXISTS scopes (scope TEXT PRIMARY KEY, version INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, epoch TEXT NOT NULL, version INTEGER NOT NULL, "
    "scope TEXT NOT NULL, value BLOB NOT NULL)",
    "INSERT OR IGNORE INTO meta (id, epoch, position) VALUES (1, NULL, NULL)",
)
#: An entry is taken only for the epoch the store is at: a worker that has not yet seen a new epoch
#: (its polls fail, or it polled just before the database was created again) must not replace the
#: entry a worker of the new epoch wrote for the same key. Within the epoch, an older build never
#: replaces a newer one; an entry of another epoch left in the file is always replaced.
_PUT = ("INSERT INTO entries (key, epoch, version, scope, value) "
        "SELECT ?1, ?2, ?3, ?4, ?5 WHERE ?2 = (SELECT epoch FROM meta WHERE id = 1) "
        "ON CONFLICT (key) DO UPDATE SET epoch = excluded.epoch, version = excluded.version, "
        "scope = excluded.scope, value = excluded.value "
        "WHERE excluded.epoch <> entries.epoch OR excluded.version >= entries.version")
_NOTE_SCOPE = ("INSERT INTO scopes (scope, version) VALUES (?, ?) "
               "ON CONFLICT (scope) DO UPDATE SET version = max(version, excluded.version)")


class LastGoodStore:
    """One instance's store file; safe to use from the threads of several processes."""

    def __init__(self, directory: str | os.PathLike[str], database: str = "") -> None:
        """`database` names the database the workers read (its URL); only its own state is taken on."""
        self.directory = Path(directory)
        self.database = hashlib.sha256(database.encode("utf-8")).hexdigest()[:32]
        self.path = self.directory / STORE_FILE
        self._pid: int | None = None
        self._lock = threading.Lock()
        self.dropped = 0

    # --- per process: a connection to read, a queue and a thread to write --------------------

    def _ensure(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            # A forked worker inherits nothing usable: its own connections, queue and thread. Nothing
            # here touches the file: a fetch that stores its answer must never fail, or wait, because
            # the store cannot be opened (the writer thread opens it, and keeps trying).
            self._reader: sqlite3.Connection | None = None
            self._reader_lock = threading.Lock()
            self._queue: queue.Queue = queue.Queue(QUEUE_LIMIT)
            # The thread holds no reference to the store: once the app is gone, it finishes and closes.
            self._writer = threading.Thread(target=_write_loop, args=(weakref.ref(self), self._queue, self.path),
                                            name="xmlcurl-last-good", daemon=True)
            self._writer.start()
            self._pid = os.getpid()

    def _submit(self, op, *args) -> None:
        self._ensure()
        try:
            self._queue.put_nowait((op, args))
        except queue.Full:
            self.dropped += 1

    def _reading(self) -> sqlite3.Connection:
        """The process's read connection (call with `_reader_lock` held): the writer thread opens it when
        it starts; a read that comes first opens it itself (and raises sqlite3.Error if it cannot)."""
        if self._reader is None:
            self._reader = _connect(self.path)
        return self._reader

    def open_reader(self) -> None:
        """Open the read connection now, so the first outage read does not have to."""
        with self._reader_lock:
            self._reading()

    def connect(self) -> sqlite3.Connection:
        """A connection of the caller's own to the store file, for `write_ops` (a job filling the store,
        fill.py); sqlite3.Error when it cannot be opened."""
        return _connect(self.path)

    def flush(self) -> None:
        """Wait until every write submitted by this process is on disk (tests, shutdown)."""
        self._ensure()
        self._queue.join()

    # --- writes (behind the fetches) -----------------------------------------------------------

    def put(self, key: str, epoch: str, version: int, scope: Iterable[str], value: bytes) -> None:
        """Record `value` (pickled) for `key`, built at (epoch, version); an older build never replaces a newer,
        and nothing is recorded for an epoch the store is not at."""
        op, args = put_op(key, epoch, version, scope, value)
        self._submit(op, *args)

    def sync(self, epoch: str, position: int, changed: Mapping[str, int], reset: bool = False,
             polled: float | None = None) -> None:
        """A worker read the database at `position`: note the scopes changed since; start over on a new
        epoch, or when `reset` (the worker saw the version go back: the database was restored).
        `polled` (time.monotonic() when the read was sent) orders the workers' syncs: see `_sync`."""
        op, args = sync_op(epoch, position, changed, reset, self.database, polled)
        self._submit(op, *args)

    # --- reads (a cache miss, or the database failing) -------------------------------------------

    def state(self, since: int | None) -> tuple[str | None, int | None, dict[str, int]]:
        """The store's epoch, position and the scopes changed after `since` (all of them when None);
        nothing when it was filled from another database (a store of an older xmlcurl names none)."""
        self._ensure()
        with self._reader_lock:
            reader = self._reading()
            epoch, position, database = reader.execute(
                "SELECT epoch, position, database FROM meta WHERE id = 1").fetchone()
            if database is not None and database != self.database:
                return None, None, {}
            rows = reader.execute("SELECT scope, version FROM scopes WHERE version > ?",
                                  (-1 if since is None else since,)).fetchall()
        return epoch, position, dict(rows)

    def holds(self, epoch: str) -> bool:
        """Whether any entry of `epoch` is stored (something may be served in an outage)."""
        self._ensure()
        with self._reader_lock:
            return self._reading().execute("SELECT EXISTS (SELECT 1 FROM entries WHERE epoch = ?)", (epoch,)).fetchone()[0] == 1

    def current(self, key: str, epoch: str, known: Mapping[str, int]) -> bytes | None:
        """The pickled value for `key` if built in `epoch` and not superseded by a change to its scopes
        (recorded in the store by any worker, or in `known`, this worker's own view)."""
        self._ensure()
        with self._reader_lock:
            found = _current(self._reading(), key, epoch, known, None)
        return None if found is None else found[2]

    def shared(self, key: str, epoch: str, built: tuple[int, int],
               known: Mapping[str, int]) -> tuple[int, Scope, bytes] | None:
        """For a worker's cache miss: the entry for `key` as `current` finds it, if built at a version in the
        range `built` (from, to: the worker's own version), as (version, scope, pickled value). Only once the
        process's read connection is open: a store that cannot be opened costs a miss nothing."""
        self._ensure()
        with self._reader_lock:
            if self._reader is None:
                return None
            return _current(self._reader, key, epoch, known, built)


def _current(reader: sqlite3.Connection, key: str, epoch: str, known: Mapping[str, int],
             built: tuple[int, int] | None) -> tuple[int, Scope, bytes] | None:
    """The entry for `key` of `epoch` (the store's), built at a version in the range `built` (any when None),
    that no change to its scopes after its version superseded (recorded in the store, or in `known`)."""
    row = reader.execute(
        "SELECT e.version, e.scope, e.value FROM entries e JOIN meta m ON m.id = 1 "
        "WHERE e.key = ? AND e.epoch = ? AND m.epoch = ?", (key, epoch, epoch)).fetchone()
    if row is None:
        return None
    version, scope_text, value = row
    if built is not None and not built[0] <= version <= built[1]:
        return None
    scope = tuple(scope_text.split("\n"))
    if any(known.get(s, 0) > version for s in scope):
        return None
    marks = ",".join("?" * len(scope))
    newest = reader.execute(f"SELECT max(version) FROM scopes WHERE scope IN ({marks})", scope).fetchone()[0]
    if newest is not None and newest > version:
        return None
    return version, scope, value


#: How often, and how far apart, switching a new file to WAL is tried while other connections hold it.
WAL_ATTEMPTS, WAL_RETRY_SECONDS = 50, 0.02
#: WAL pages (4 KiB each, ~80 MB) a writer lets gather before it copies them into the file. SQLite's
#: default, 1,000, made a checkpoint (two fsyncs, and the copy of every page changed since the last)
#: every ~700 entries: on a store of 50,000 entries a write cost 39-42 us of the machine's CPU (the
#: kernel's writeback included), 29-33 us at 20,000 (python -m bench.last_good --direct); past that it
#: grew again (40,000 and 80,000 pages: 26 and 30 us against 24 us at 20,000, in a script calling
#: the same functions).
WAL_CHECKPOINT_PAGES = 20_000


def _connect(path: Path) -> sqlite3.Connection:
    """A connection to the store file (made, with its directory, if missing); sqlite3.Error if it cannot be."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise sqlite3.OperationalError(f"cannot create {path.parent}: {exc}") from exc
    conn = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
    try:
        _use_wal(conn)
    except sqlite3.Error:
        conn.close()
        raise
    # A lost last transaction after a power cut costs some entries, never a corrupt file.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    for stmt in _SCHEMA:
        conn.execute(stmt)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(meta)")}
    for column, kind in (("database", "TEXT"), ("boot", "TEXT"), ("started", "REAL")):
        if column not in columns:
            try:  # a store written by an older xmlcurl
                conn.execute(f"ALTER TABLE meta ADD COLUMN {column} {kind}")
            except sqlite3.OperationalError:
                pass  # another worker added it first
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    # Two connections opening a new file at once (two workers starting, or a worker's writer and
    # reader) may find it locked while the other switches it to WAL: SQLite's busy timeout does not
    # cover that switch, so it is tried again.
    for attempt in range(1, WAL_ATTEMPTS + 1):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_ATTEMPTS:
                raise
            time.sleep(WAL_RETRY_SECONDS)


def _open_for_writing(owner: "weakref.ref[LastGoodStore]", pending: queue.Queue,
                      path: Path) -> tuple[sqlite3.Connection, list[tuple]] | None:
    """The writer's connection, tried until it opens (None once the store is dropped), and the syncs
    queued meanwhile (as queued ops). The entries queued meanwhile are let go, so the fetches never wait
    on the store and `flush` returns; the syncs are kept (they are few), or the store would never learn
    its epoch."""
    delay, logged, syncs = 0.1, False, []
    while True:
        try:
            return _connect(path), syncs
        except sqlite3.Error as exc:
            if not logged:
                log.error("last-good store %s cannot be opened (trying again; until then nothing is kept "
                          "for outages): %s", path, exc)
                logged = True
        while True:
            try:
                op, args = pending.get_nowait()
            except queue.Empty:
                break
            if op is _sync and len(syncs) < QUEUE_LIMIT:
                syncs.append((op, args))
            pending.task_done()
        if owner() is None:
            return None
        time.sleep(delay)
        delay = min(delay * 2, IDLE_CHECK_SECONDS)


def put_op(key: str, epoch: str, version: int, scope: Iterable[str], value: bytes) -> tuple:
    """The writer's queued op for one `LastGoodStore.put`: (function, arguments); bench.last_good writes these."""
    return _put, (key, epoch, version, "\n".join(scope), value)


def sync_op(epoch: str, position: int, changed: Mapping[str, int], reset: bool, database: str,
            polled: float | None = None) -> tuple:
    """The writer's queued op for one `LastGoodStore.sync` of the store filled from `database` (its digest)."""
    return _sync, (epoch, position, dict(changed), reset, database, polled, BOOT if polled is not None else None)


def _boot_id() -> str | None:
    """This boot of the machine (Linux): monotonic clock readings compare only within one boot."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


#: The boot the workers' poll times belong to; without one, syncs are taken in the order they come.
BOOT = _boot_id()


def _write_loop(owner: "weakref.ref[LastGoodStore]", pending: queue.Queue, path: Path) -> None:
    """Write what the worker queued, in batches of one transaction each, until the store is dropped."""
    opened = _open_for_writing(owner, pending, path)
    if opened is None:
        return
    conn, syncs = opened
    if syncs:
        _write_batch(conn, syncs)
    store = owner()
    if store is not None:
        try:
            store.open_reader()
        except sqlite3.Error:
            pass  # the first read opens it, or says why it cannot
        del store  # the thread holds no reference to the store
    while True:
        try:
            batch = [pending.get(timeout=IDLE_CHECK_SECONDS)]
        except queue.Empty:
            if owner() is None:
                conn.close()
                return
            continue
        # Sleep through the gathering time, then take what came: waiting on the queue instead woke this
        # thread (and took the GIL from the fetches) once per entry.
        time.sleep(GATHER_SECONDS)
        while len(batch) < BATCH:
            try:
                batch.append(pending.get_nowait())
            except queue.Empty:
                break
        try:
            _write_batch(conn, batch)
        finally:
            for _ in batch:
                pending.task_done()


def _write_batch(conn: sqlite3.Connection, batch: list[tuple]) -> None:
    """Carry out queued ops, in their order, in one transaction; a failure is logged and rolled back."""
    try:
        write_ops(conn, batch)
    except sqlite3.Error as exc:
        log.error("last-good store write failed: %s", exc)


def write_ops(conn: sqlite3.Connection, ops: list[tuple]) -> None:
    """Carry out ops (put_op, sync_op) in their order in one transaction, on a connection to the store
    (`LastGoodStore.connect`); on any error nothing is written and the error is raised."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        puts: list[tuple] = []
        for op, args in ops:
            if op is _put:  # consecutive entries go in one executemany: less Python per entry
                puts.append(args)
                continue
            _put(conn, puts)
            op(conn, *args)
        _put(conn, puts)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _put(conn: sqlite3.Connection, entries: list[tuple]) -> None:
    """Write the gathered entries (the arguments of `put`, each in a queued op of its own), in their order,
    and forget them."""
    if entries:
        conn.executemany(_PUT, entries)
        entries.clear()


def _sync(conn: sqlite3.Connection, epoch: str, position: int, changed: dict[str, int], reset: bool,
          database: str, polled: float | None = None, boot: str | None = None) -> None:
    stored_epoch, stored_database, stored_boot, started = conn.execute(
        "SELECT epoch, database, boot, started FROM meta WHERE id = 1").fetchone()
    if polled is not None and started is not None and boot is not None and boot == stored_boot and polled < started:
        # Read before another worker's poll made the store start over (a new epoch, a restore): the
        # database this worker saw is gone. Each worker's writer gathers its syncs for a while, so its
        # sync can come after a newer one; taken, it would take the store back to the old epoch, empty.
        return
    if reset or stored_epoch != epoch or (stored_database is not None and stored_database != database):
        # Another database (re-created, restored or another one): nothing stored belongs to it.
        conn.execute("DELETE FROM entries")
        conn.execute("DELETE FROM scopes")
        conn.execute("UPDATE meta SET epoch = ?, position = ?, database = ?, boot = ?, started = ? WHERE id = 1",
                     (epoch, position, database, boot, polled))
        # What the poll saw change still holds in the new state: a worker's build of an older version
        # may come after this.
        conn.executemany(_NOTE_SCOPE, changed.items())
        return
    if stored_database is None:
        conn.execute("UPDATE meta SET database = ? WHERE id = 1", (database,))
    conn.executemany(_NOTE_SCOPE, changed.items())
    conn.execute("UPDATE meta SET position = max(coalesce(position, 0), ?) WHERE id = 1", (position,))
