"""presentable_numbers, the copy of `dids` and `approved_caller_ids` the fetch path checks caller numbers in.

Triggers keep it (schema.sql; db.sqlite_presentable_triggers): every write to either source, by the
admin, the API or plain SQL, changes the copy in the same transaction. Only a database loaded without
its triggers (a dump made with --skip-triggers, rows copied in by a tool that disabled them) can leave
it out of step: `xmlcurl presentable-numbers` finds that, `--repair` rebuilds it from the sources.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from . import db
from .models import PRESENTABLE_SOURCES

_COLUMNS = "source, source_id, tenant_id, number"


def _expected_select(sqlite: bool) -> str:
    """Every row the copy should hold, as its triggers would have written it."""
    bare = "ltrim(number, '+')" if sqlite else "TRIM(LEADING '+' FROM number)"
    return " UNION ALL ".join(f"SELECT '{table}' AS source, id AS source_id, tenant_id, {bare} AS number FROM {table}"
                              for table in PRESENTABLE_SOURCES)


@dataclass(frozen=True)
class Drift:
    """How the copy differs from its sources: rows missing from it, rows it should not hold (or holds wrong)."""

    missing: int
    extra: int

    @property
    def in_step(self) -> bool:
        return self.missing == 0 and self.extra == 0


def _rows(conn: Connection, sql: str) -> set[tuple]:
    return {tuple(row) for row in conn.execute(text(sql))}


def drift(conn: Connection) -> Drift:
    """Compare the copy with its sources (reads both whole: for a check, not for the fetch path)."""
    expected = _rows(conn, _expected_select(db.is_sqlite(conn.engine)))
    held = _rows(conn, f"SELECT {_COLUMNS} FROM presentable_numbers")
    return Drift(missing=len(expected - held), extra=len(held - expected))


def rebuild(engine: Engine) -> Drift:
    """Write the copy again from its sources, in one transaction; returns what was out of step before."""
    with engine.begin() as conn:
        found = drift(conn)
        conn.execute(text("DELETE FROM presentable_numbers"))
        conn.execute(text(f"INSERT INTO presentable_numbers ({_COLUMNS}) {_expected_select(db.is_sqlite(engine))}"))
    return found
