"""Engines and the per-request session: one session a request, closed at teardown."""
from __future__ import annotations

import logging
import re
import time
from collections import namedtuple
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple

from flask import Flask, current_app, g, has_app_context, request
from sqlalchemy import Connection, Engine, TextClause, create_engine, event, make_url, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import ServiceUnavailable

from . import prepared
from .held_connection import HeldConnections
from .logging_setup import loggable
from .models import VERSIONED_TABLES, Base
from .models.version import CHANGE_SLOTS, change_detail_expression, change_tenant_expression

SCHEMA_SQL = Path(__file__).resolve().parent.parent / "schema.sql"
log = logging.getLogger("xmlcurl.db")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


class DeadlineExceeded(SQLAlchemyError):
    """The fetch's time budget ran out before a statement could start."""


class FailedEarlier(SQLAlchemyError):
    """The database already failed once in this fetch: it is not waited for again."""


@dataclass(frozen=True)
class FetchLimits:
    """Database limits that keep one fetch inside its budget, in seconds.

    A statement may run for `statement` (the server stops it), a socket waits `read` for an answer
    (a frozen server), a connection or a free pooled one is waited for `connect`. After the first
    database error of a fetch, its other statements and connections fail at once.
    """

    connect: float
    read: float
    statement: float

    @classmethod
    def for_budget(cls, budget_ms: int) -> "FetchLimits":
        # A dead server costs a failed pre-ping and a failed handshake (2 x read); a slow statement
        # is stopped by the server (statement) before the socket gives up on it (read).
        budget = budget_ms / 1000
        return cls(connect=budget * 0.2, read=budget * 0.3, statement=budget * 0.25)


def make_engine(url: str, settings: dict[str, Any], limits: FetchLimits | None = None) -> Engine:
    """Create an engine; with `limits`, the fetch path's (short timeouts, a server-side statement limit,
    autocommit: it only reads, so no transaction is begun and none is rolled back per request)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 5})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_cursor_execute", _check_deadline)
        return engine
    query = dict(parsed.query)
    query.setdefault("charset", "utf8mb4")
    parsed = parsed.set(query=query)
    connect = limits.connect if limits else settings["DB_CONNECT_TIMEOUT"]
    read = limits.read if limits else settings["DB_READ_TIMEOUT"]
    # Autocommit is set once per connection (not per checkout), and with it the ROLLBACK PyMySQL
    # would send at every return to the pool and every session close is skipped: each one is a
    # round trip to the server.
    read_only = {"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None,
                 "skip_autocommit_rollback": True} if limits is not None else {}
    engine = create_engine(
        parsed,
        pool_size=settings["DB_POOL_SIZE"],
        max_overflow=settings["DB_POOL_SIZE"],
        pool_recycle=settings["DB_POOL_RECYCLE"],
        # The fetch path does not ping before each checkout (a round trip per fetch): a statement
        # that finds its pooled connection dead is retried once on a new one (FetchReader).
        pool_pre_ping=limits is None,
        pool_timeout=connect,
        connect_args={"connect_timeout": connect, "read_timeout": read, "write_timeout": read},
        **read_only,
    )
    event.listen(engine, "connect", _uncut_aggregates)
    if limits is not None:
        event.listen(engine, "connect", _statement_limit(limits.statement))
        event.listen(engine, "before_cursor_execute", _check_deadline)
        event.listen(engine, "do_connect", _check_deadline_before_connect)
        event.listen(engine, "handle_error", _note_fetch_failure)
    return engine


def _uncut_aggregates(dbapi_connection: Any, _record: Any) -> None:
    """MariaDB cuts JSON_ARRAYAGG and GROUP_CONCAT at group_concat_max_len (1 MB by default, with only a
    warning): a call's list of routes or nodes must never be cut short."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SET SESSION group_concat_max_len = 67108864")
    finally:
        cursor.close()


#: Fetch connections estimate an IN list's rows from the index statistics instead of diving into the
#: index for each value (MariaDB and MySQL: 1 turns the dives off). A router call's routes, two
#: scopes by up to 16 prefixes, made 26-32 dives for a plan that is the same either way (a range on
#: the routes' (tenant_scope, prefix) key): MariaDB spent 595-665 us on the call instead of 735-805.
SKIP_INDEX_DIVES = "eq_range_index_dive_limit = 1"


def _statement_limit(seconds: float):
    """A connect hook setting the server's own per-statement time limit (MariaDB or MySQL), and
    SKIP_INDEX_DIVES, in one round trip."""

    def apply(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if "mariadb" in dbapi_connection.get_server_info().lower():
                cursor.execute(f"SET SESSION max_statement_time = {seconds:.3f}, {SKIP_INDEX_DIVES}")
            else:
                # MySQL 5.7.8+: read-only SELECTs only, which is all the fetch path runs.
                cursor.execute(f"SET SESSION max_execution_time = {max(1, round(seconds * 1000))}, "
                               f"{SKIP_INDEX_DIVES}")
        finally:
            cursor.close()

    return apply


def start_deadline(budget_ms: int) -> None:
    """Start the request's time budget: no statement starts once it has run out."""
    g.fetch_deadline = time.monotonic() + budget_ms / 1000


def _refuse_if_out_of_time() -> None:
    if has_app_context():
        deadline = g.get("fetch_deadline")
        if deadline is None:
            return
        if g.get("fetch_database_failed"):
            raise FailedEarlier("the database failed earlier in this fetch")
        if time.monotonic() > deadline:
            raise DeadlineExceeded("the fetch's time budget ran out")


def _check_deadline(_conn: Any, _cursor: Any, _statement: Any, _params: Any, _context: Any, _many: Any) -> None:
    _refuse_if_out_of_time()


def _check_deadline_before_connect(_dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> None:
    _refuse_if_out_of_time()


def _note_fetch_failure(context: Any) -> None:
    """A database error during a fetch: the fetch's other statements fail at once instead of waiting again."""
    if has_app_context() and g.get("fetch_deadline") is not None:
        g.fetch_database_failed = True


class JsonArrayAgg:
    """MariaDB's and MySQL's JSON_ARRAYAGG for SQLite (whose own is json_group_array), so the fetch
    path's statements are written once. Takes JSON values (JSON_OBJECT or JSON_ARRAY results);
    over no rows it is NULL, as on MariaDB."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def step(self, value: str | None) -> None:
        self.items.append("null" if value is None else value)

    def finalize(self) -> str | None:
        return "[" + ",".join(self.items) + "]" if self.items else None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # A row that INSERT OR REPLACE deletes fires its delete triggers only with this on (the version
    # and presentable_numbers would not follow it otherwise); no trigger here writes its own table.
    cursor.execute("PRAGMA recursive_triggers=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
    dbapi_connection.create_aggregate("JSON_ARRAYAGG", 1, JsonArrayAgg)


class Database:
    """The engines of one app: the primary for writes, an optional replica for the fetch path."""

    def __init__(self, url: str, read_url: str | None, settings: dict[str, Any]) -> None:
        self.engine = make_engine(url, settings)
        # The fetch path has an engine of its own even without a replica: its short timeouts and
        # statement limit must never cut an admin write or an import short.
        limits = FetchLimits.for_budget(settings["FETCH_BUDGET_MS"]) if "FETCH_BUDGET_MS" in settings else None
        if read_url or (limits is not None and not is_sqlite(self.engine)):
            self.read_engine = make_engine(read_url or url, settings, limits)
        else:
            self.read_engine = self.engine
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.read_sessionmaker = sessionmaker(bind=self.read_engine, expire_on_commit=False)
        # SQLite shares the primary's engine: autocommit is switched on for the fetch path's checkouts only.
        self.fetch_engine = (self.read_engine.execution_options(isolation_level="AUTOCOMMIT")
                             if self.read_engine is self.engine else self.read_engine)
        #: Whether the fetch path prepares its statements on the server (MariaDB only; see prepared.py).
        self.fetch_prepares = (self.fetch_engine.dialect.name == "mysql"
                               and bool(settings.get("DB_PREPARED_STATEMENTS", True)))
        # At most the pool's own size is held: its overflow stays free for the read sessions (the cache's poll).
        self.held_fetch_connections = HeldConnections(self.fetch_engine, settings["DB_POOL_RECYCLE"],
                                                      limit=settings["DB_POOL_SIZE"])

    def fetch_connection(self) -> tuple[Connection, Callable[[], None]]:
        """A read connection for the fetch path (autocommit, no ORM), held by the thread between fetches,
        and what the fetch calls when it is done with it."""
        return self.held_fetch_connections.take()

    def dispose(self) -> None:
        self.held_fetch_connections.close_all()
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def init_app(app: Flask, database: Database) -> None:
    app.extensions["xmlcurl.db"] = database
    app.teardown_appcontext(_close_sessions)
    for error in UNAVAILABLE:
        app.register_error_handler(error, _database_unavailable)


#: Errors that mean the database cannot be reached or answer in time (not a bad statement).
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout, DeadlineExceeded, FailedEarlier)


def _database_unavailable(exc: Exception):
    """A page or API call that met an unreachable database: 503 in the surface's own format.

    The view's transaction is rolled back (by its own error handling, or when the session is closed
    at teardown), so nothing is half-written; the client retries once the database is back.
    """
    log.error("database unavailable: %s %s answered 503 (%s)", loggable(request.method), loggable(request.path, 200),
              exc.__class__.__name__)
    return current_app.handle_http_exception(
        ServiceUnavailable("the database is unavailable: the request was not carried out; try again shortly"))


def database() -> Database:
    return current_app.extensions["xmlcurl.db"]


def session() -> Session:
    """The request's read-write session on the primary."""
    if "db_session" not in g:
        g.db_session = database().sessionmaker()
    return g.db_session


def read_session() -> Session:
    """The request's read-only session (the replica when one is configured)."""
    if "db_read_session" not in g:
        g.db_read_session = database().read_sessionmaker()
    return g.db_read_session


class FetchRows(list):
    """A statement's rows as named tuples, with the two Result methods the fetch path's readers use."""

    def all(self) -> "FetchRows":
        return self

    def first(self) -> Any:
        return self[0] if self else None


@dataclass(frozen=True)
class PreparedText:
    """A `text()` statement compiled once for a dialect: its SQL in the driver's own parameter style."""

    statement: TextClause
    sql: str
    paramstyle: str
    #: Parameters bound with expanding=True (a list for an IN), rendered per list length.
    expanding: tuple[str, ...]

    def render(self, parameters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The SQL and parameters to hand to the driver's cursor for these values."""
        if not self.expanding:
            return self.sql, parameters
        lengths = tuple(len(parameters[name]) for name in self.expanding)
        sql = _RENDERED.get((self, lengths))
        params = dict(parameters)
        for name in self.expanding:
            values = params.pop(name)
            if not values:
                raise ValueError(f"expanding parameter {name!r} needs at least one value")
            params.update((f"{name}_{n}", value) for n, value in enumerate(values, start=1))
        if sql is None:
            sql = self.sql
            for name, length in zip(self.expanding, lengths):
                marks = ", ".join(_parameter_mark(self.paramstyle, f"{name}_{n}") for n in range(1, length + 1))
                sql = sql.replace(f"__[POSTCOMPILE_{name}]", marks)
            _RENDERED[(self, lengths)] = sql
        return sql, params


_PREPARED: dict[tuple[int, str], PreparedText] = {}
_RENDERED: dict[tuple[PreparedText, tuple[int, ...]], str] = {}
_ROW_TYPES: dict[tuple[str, ...], type] = {}


def _parameter_mark(paramstyle: str, name: str) -> str:
    return f"%({name})s" if paramstyle == "pyformat" else f":{name}"


def prepare_text(statement: TextClause, dialect: Dialect) -> PreparedText:
    """`statement` compiled once per dialect, with named parameters (pyformat for PyMySQL, named for SQLite)."""
    key = (id(statement), dialect.name)
    found = _PREPARED.get(key)
    if found is None or found.statement is not statement:
        # sqlite3 takes a dict with :name marks as well as '?' with a tuple: named needs no reordering.
        named = dialect if dialect.paramstyle in ("pyformat", "named") else type(dialect)(paramstyle="named")
        compiled = statement.compile(dialect=named)
        expanding = tuple(name for name, bind in compiled.binds.items() if bind.expanding)
        found = _PREPARED[key] = PreparedText(statement, compiled.string, named.paramstyle, expanding)
    return found


def _row_type(description: Any) -> type[NamedTuple]:
    names = tuple(column[0] for column in description)
    found = _ROW_TYPES.get(names)
    if found is None:
        found = _ROW_TYPES[names] = namedtuple("FetchRow", names, rename=True)  # type: ignore[misc]
    return found


class FetchReader:
    """The request's fetch-path reads: one pooled Core connection (autocommit), checked out on first use.

    `text()` statements, which are all the fetch path's answers use, go straight to the driver's
    cursor (compiled once per dialect, rows as named tuples): SQLAlchemy's per-execution work
    (parameter processing, result metadata, Row objects) cost more than the statement itself.
    Other statements run through SQLAlchemy. Without a ping before each checkout, a connection the
    server dropped (a restart, wait_timeout) is found by the statement itself: it is invalidated,
    and the statement is sent once more on a new connection, so the fetch still gets its answer.
    """

    def __init__(self, connect: Callable[[], tuple[Connection, Callable[[], None]]], prepare: bool = False) -> None:
        self._connect = connect
        #: Run text statements as statements prepared on the server (prepared.py).
        self._prepare = prepare
        self._borrowed: tuple[Connection, Callable[[], None]] | None = None
        self._retried = False

    @property
    def connection(self) -> Connection:
        if self._borrowed is None:
            self._borrowed = self._connect()
        return self._borrowed[0]

    def execute(self, statement: Any, parameters: Any = None) -> Any:
        """Run one statement (a `text()` or Core construct, built once) and return its result."""
        run = self._run_text if isinstance(statement, TextClause) else self._run_core
        try:
            return run(statement, parameters)
        except DBAPIError as exc:
            if not exc.connection_invalidated or self._retried:
                raise
            self._retried = True
            self.release()
            if has_app_context():
                g.pop("fetch_database_failed", None)  # this failure is being handled: try once more
            return run(statement, parameters)

    def _run_core(self, statement: Any, parameters: Any) -> Any:
        return self.connection.execute(statement, parameters)

    def _run_text(self, statement: TextClause, parameters: Any) -> FetchRows:
        connection = self.connection
        dialect = connection.dialect
        sql, params = prepare_text(statement, dialect).render(parameters or {})
        pooled = connection.connection
        cursor = pooled.cursor()
        try:
            # The engine's own hooks (the fetch's deadline) and any observer see the statement as
            # they would through SQLAlchemy.
            connection.dispatch.before_cursor_execute(connection, cursor, sql, params, None, False)
            server = prepared.server_statement(sql) if self._prepare and prepared.takes_literals(pooled) else None
            if server is None:
                cursor.execute(sql, params)
            else:
                prepared.execute(cursor, pooled.info, server, params, sql)
            rows = cursor.fetchall()
            return FetchRows(map(_row_type(cursor.description)._make, rows))
        except dialect.loaded_dbapi.Error as exc:
            disconnected = dialect.is_disconnect(exc, pooled.dbapi_connection, cursor)
            _note_fetch_failure(None)
            if disconnected:
                connection.invalidate(exc)
            raise DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error,
                                      connection_invalidated=disconnected, dialect=dialect) from exc
        finally:
            try:
                cursor.close()
            except dialect.loaded_dbapi.Error:
                pass

    def rollback(self) -> None:
        """After a failed statement: a dead connection is given back, so the next one starts afresh."""
        if self._borrowed is not None and self._borrowed[0].invalidated:
            self.release()

    def release(self) -> None:
        borrowed, self._borrowed = self._borrowed, None
        if borrowed is None:
            return
        connection, release = borrowed
        try:
            release()
        except SQLAlchemyError:
            connection.invalidate()


def fetch_connection() -> FetchReader:
    """The request's fetch-path reader (Core only, autocommit); no connection is taken until it is used."""
    context_globals = g._get_current_object()  # type: ignore[attr-defined]
    found = context_globals.get("db_fetch_reader")
    if found is None:
        found_database = database()
        found = context_globals.db_fetch_reader = FetchReader(found_database.fetch_connection,
                                                              found_database.fetch_prepares)
    return found


def _close_sessions(_exc: BaseException | None) -> None:
    context_globals = g._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup, not two
    reader = context_globals.pop("db_fetch_reader", None)
    if reader is not None:
        reader.release()
    for key in ("db_session", "db_read_session"):
        sess = context_globals.pop(key, None)
        if sess is not None:
            try:
                sess.close()
            except SQLAlchemyError:
                # A connection that timed out cannot even roll back: drop it, never fail an answered request.
                sess.invalidate()


# --- creating the schema -------------------------------------------------------------------

def schema_statements(sql: str) -> list[str]:
    """Split schema.sql into statements (it holds no ';' inside literals or bodies)."""
    no_comments = re.sub(r"^\s*--.*$", "", sql, flags=re.MULTILINE)
    return [stmt.strip() for stmt in no_comments.split(";") if stmt.strip()]


def sqlite_trigger_statements() -> list[str]:
    """The version triggers of schema.sql in SQLite's dialect: bump the version, record what changed."""
    statements = []
    for table in VERSIONED_TABLES:
        for event_name, suffix in (("INSERT", "ai"), ("UPDATE", "au"), ("DELETE", "ad")):
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS trg_{table}_{suffix} AFTER {event_name} ON {table} "
                "FOR EACH ROW BEGIN UPDATE config_version SET version = version + 1, "
                "changed_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = 1; "
                "INSERT OR REPLACE INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at) "
                f"SELECT version % {CHANGE_SLOTS}, version, '{table}', {change_tenant_expression(table, event_name)}, "
                f"{change_detail_expression(table, event_name, '{0} || {1}')}, changed_at FROM config_version WHERE id = 1; END"
            )
    return statements


def has_schema(engine: Engine) -> bool:
    from sqlalchemy import inspect

    return inspect(engine).has_table("config_version")


def drop_all(engine: Engine) -> None:
    from .dispatcher import drop_statements

    with engine.begin() as conn:
        for stmt in drop_statements():
            conn.exec_driver_sql(stmt)
        if not is_sqlite(engine):
            conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        Base.metadata.drop_all(conn)
        if not is_sqlite(engine):
            conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))


def create_schema(engine: Engine) -> None:
    """Create every table: schema.sql on MySQL/MariaDB, the models plus triggers on SQLite."""
    if is_sqlite(engine):
        with engine.begin() as conn:
            Base.metadata.create_all(conn)
            from .presentable import sqlite_triggers

            for stmt in sqlite_trigger_statements() + list(sqlite_triggers().values()):
                conn.exec_driver_sql(stmt)
            from .dispatcher import sqlite_statements

            for stmt in sqlite_statements():
                conn.exec_driver_sql(stmt)
            conn.execute(
                text(
                    "INSERT INTO config_version (id, version, changed_at, epoch) "
                    "SELECT 1, 1, CURRENT_TIMESTAMP, lower(hex(randomblob(16))) "
                    "WHERE NOT EXISTS (SELECT 1 FROM config_version)"
                )
            )
        return
    with engine.begin() as conn:
        for stmt in schema_statements(SCHEMA_SQL.read_text(encoding="utf-8")):
            conn.exec_driver_sql(stmt)
