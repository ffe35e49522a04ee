"""The fetch path's read connection, held by each thread of a worker from one fetch to the next.

Taking a connection from SQLAlchemy's pool and giving it back at every fetch cost the worker more
CPU than decoding the answer's row (a Connection, the pool's checkout and checkin events, the
statement's event dispatch built anew on each Connection). The fetch path only reads, in
autocommit, so a connection carries nothing from one fetch to the next but its prepared statements,
which are worth keeping. A held connection is given up when it is found dead (the statement that
found it is sent again on a new one, see db.FetchReader), when it is older than the pool's recycle
time, and in a forked child (a socket is never shared by two processes).
"""
from __future__ import annotations

import os
import threading
import time
from typing import Callable

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError


class HeldConnections:
    """One held connection per thread, at most `limit` of them; a thread beyond the limit takes a pooled
    connection per fetch and gives it back, as before (the pool must keep room for the engine's other
    users: the cache's read sessions, and on SQLite the admin)."""

    def __init__(self, engine: Engine, recycle_seconds: float, limit: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._recycle = recycle_seconds
        self._limit = limit
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        #: Every held connection of this process, so `close_all` reaches those of other threads.
        self._held: set[Connection] = set()
        self._pid = os.getpid()

    def take(self) -> tuple[Connection, Callable[[], None]]:
        """The thread's connection, and what the fetch calls when it is done with it (it stays held
        unless it was invalidated)."""
        if self._pid != os.getpid():
            self._forget_parents()
        held = getattr(self._local, "held", None)
        if held is not None:
            connection, due = held
            if not connection.invalidated and not connection.closed and self._clock() < due:
                return connection, self._after_fetch
            self._give_up(connection)
        connection = self._engine.connect()
        with self._lock:
            if len(self._held) >= self._limit:
                return connection, connection.close
            self._held.add(connection)
        self._local.held = (connection, self._clock() + self._recycle)
        return connection, self._after_fetch

    def _after_fetch(self) -> None:
        held = getattr(self._local, "held", None)
        if held is not None and held[0].invalidated:
            self._give_up(held[0])

    def _give_up(self, connection: Connection) -> None:
        self._local.held = None
        with self._lock:
            self._held.discard(connection)
        try:
            connection.close()
        except SQLAlchemyError:
            connection.invalidate()

    def _forget_parents(self) -> None:
        # A forked child inherits the parent's held connections (and the forking thread's local):
        # their sockets are the parent's, so they are dropped here without a word on them.
        with self._lock:
            if self._pid != os.getpid():
                self._held = set()
                self._local = threading.local()
                self._pid = os.getpid()

    def close_all(self) -> None:
        """Give every held connection of this process back to the pool (shutdown, tests)."""
        if self._pid != os.getpid():
            self._forget_parents()
            return
        with self._lock:
            held, self._held = self._held, set()
        self._local = threading.local()
        for connection in held:
            try:
                connection.close()
            except SQLAlchemyError:
                pass

    def __len__(self) -> int:
        return len(self._held)
