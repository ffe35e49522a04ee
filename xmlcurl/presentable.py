"""presentable_numbers, the copy of `dids` and `approved_caller_ids` the fetch path checks caller numbers in.

Triggers keep it (schema.sql; `sqlite_triggers` here): every write to either source, by the
admin, the API or plain SQL, changes the copy in the same transaction. Only a database loaded without
its triggers (a dump made with --skip-triggers, rows copied in by a tool that disabled them) can leave
it out of step: `xmlcurl presentable-numbers` finds that, `--repair` puts the triggers back, rebuilds
the copy from the sources and tells every worker (a new version that touches every tenant).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from . import db
from .models import PRESENTABLE_SOURCES
from .models.version import CHANGE_SLOTS

_COLUMNS = "source, source_id, tenant_id, number"
#: The triggers that keep the copy, by name (the same names in schema.sql and on SQLite).
TRIGGERS = tuple(f"trg_{table}_{event}_presentable" for table in PRESENTABLE_SOURCES for event in ("ai", "au", "ad"))


def _bare(number: str, sqlite: bool) -> str:
    """SQL for `number` without its leading '+' (callerid.bare), as the copy holds it."""
    return f"ltrim({number}, '+')" if sqlite else f"TRIM(LEADING '+' FROM {number})"


def _expected_select(sqlite: bool) -> str:
    """Every row the copy should hold, as its triggers would have written it."""
    return " UNION ALL ".join(f"SELECT '{table}' AS source, id AS source_id, tenant_id, "
                              f"{_bare('number', sqlite)} AS number FROM {table}" for table in PRESENTABLE_SOURCES)


def sqlite_triggers() -> dict[str, str]:
    """schema.sql's triggers of the copy in SQLite's dialect, by name (an insert overwrites a leftover row of
    the same source row, as ON DUPLICATE KEY UPDATE does there)."""
    bare = _bare("NEW.number", sqlite=True)
    statements = {}
    for table in PRESENTABLE_SOURCES:
        bodies = (
            ("ai", "INSERT", "INSERT OR REPLACE INTO presentable_numbers (source, source_id, tenant_id, number) "
                             f"VALUES ('{table}', NEW.id, NEW.tenant_id, {bare});"),
            ("au", "UPDATE", f"UPDATE presentable_numbers SET source_id = NEW.id, tenant_id = NEW.tenant_id, "
                             f"number = {bare} WHERE source = '{table}' AND source_id = OLD.id;"),
            ("ad", "DELETE", f"DELETE FROM presentable_numbers WHERE source = '{table}' AND source_id = OLD.id;"),
        )
        for suffix, event, body in bodies:
            name = f"trg_{table}_{suffix}_presentable"
            statements[name] = (f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON {table} FOR EACH ROW "
                                f"BEGIN {body} END")
    return statements


@dataclass(frozen=True)
class Drift:
    """How the copy differs from its sources: rows missing from it, rows it should not hold (or holds wrong),
    and which of its triggers the database lacks."""

    missing: int
    extra: int
    triggers_missing: tuple[str, ...] = ()

    @property
    def in_step(self) -> bool:
        return self.missing == 0 and self.extra == 0 and not self.triggers_missing


def _rows(conn: Connection, sql: str) -> set[tuple]:
    return {tuple(row) for row in conn.execute(text(sql))}


def _triggers(conn: Connection) -> set[str]:
    if db.is_sqlite(conn.engine):
        return set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
    return set(conn.execute(text("SELECT trigger_name FROM information_schema.triggers "
                                 "WHERE trigger_schema = DATABASE()")).scalars())


def drift(conn: Connection) -> Drift:
    """Compare the copy with its sources (reads both whole: for a check, not for the fetch path)."""
    expected = _rows(conn, _expected_select(db.is_sqlite(conn.engine)))
    held = _rows(conn, f"SELECT {_COLUMNS} FROM presentable_numbers")
    present = _triggers(conn)
    return Drift(missing=len(expected - held), extra=len(held - expected),
                 triggers_missing=tuple(name for name in TRIGGERS if name not in present))


def trigger_statements(sqlite: bool) -> dict[str, str]:
    """The CREATE TRIGGER statements of the copy, by name: SQLite's, or schema.sql's own."""
    if sqlite:
        return sqlite_triggers()
    named = {stmt.split()[2]: stmt for stmt in db.schema_statements(db.SCHEMA_SQL.read_text(encoding="utf-8"))
             if stmt.startswith("CREATE TRIGGER ")}
    return {name: named[name] for name in TRIGGERS}


def rebuild(engine: Engine) -> Drift:
    """Put back missing triggers, write the copy again from its sources and, if it was out of step, record
    a change that touches every tenant (so no worker keeps an answer made from it): one transaction (on
    MariaDB, CREATE TRIGGER commits by itself, before it). Returns what was out of step."""
    sqlite = db.is_sqlite(engine)
    with engine.connect() as conn:
        found = drift(conn)
    if found.triggers_missing:
        statements = trigger_statements(sqlite)
        with engine.begin() as conn:
            for name in found.triggers_missing:
                conn.exec_driver_sql(statements[name])
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM presentable_numbers"))
        conn.execute(text(f"INSERT INTO presentable_numbers ({_COLUMNS}) {_expected_select(sqlite)}"))
        if not found.in_step:
            _record_change_of_every_tenant(conn, sqlite)
    return found


def _record_change_of_every_tenant(conn: Connection, sqlite: bool) -> None:
    """What the version triggers write, for a change of presentable_numbers under tenant -1 (every tenant)."""
    now = "strftime('%Y-%m-%d %H:%M:%f', 'now')" if sqlite else "CURRENT_TIMESTAMP(6)"
    conn.execute(text(f"UPDATE config_version SET version = version + 1, changed_at = {now} WHERE id = 1"))
    upsert, slot = (("INSERT OR REPLACE INTO", f"version % {CHANGE_SLOTS}") if sqlite
                    else ("REPLACE INTO", f"MOD(version, {CHANGE_SLOTS})"))
    conn.execute(text(f"{upsert} config_changes (slot, version, table_name, tenant_id, detail, changed_at) "
                      f"SELECT {slot}, version, 'presentable_numbers', -1, NULL, changed_at "
                      "FROM config_version WHERE id = 1"))
