"""First start: create the schema of an empty database once, however many workers start at once.

Every gunicorn worker imports wsgi.py; the first one to take the lock creates the tables (and loads
the demo data when it was asked for), the others wait for it and find them. Nothing else is ever
created: a production database starts without any account or node secret.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from flask import Flask
from sqlalchemy import Engine, inspect, text

from . import db
from .models import Base

log = logging.getLogger("xmlcurl.bootstrap")

#: Seconds a worker waits for another one creating the schema.
LOCK_TIMEOUT = 120

NEXT_STEPS = (
    "created the xmlcurl tables on an empty database; it holds no admin and no node yet. "
    "Create the first superadmin with `xmlcurl create-admin NAME --role superadmin` "
    "(same XMLCURL_DATABASE_URL), then add each node with its HTTP secret on the admin's Nodes page "
    "or with POST /api/v1/nodes (http_secret: e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
)


class SchemaError(RuntimeError):
    """The database is neither empty nor an xmlcurl database."""


@dataclass(frozen=True)
class Outcome:
    """What `prepare` did: created the tables, loaded the demo data."""

    created: bool
    seeded: bool


def prepare(engine: Engine, demo: bool = False) -> Outcome:
    """Create the tables if the database has none; with `demo`, load fixtures/demo.sql into an empty one."""
    with _exclusive(engine):
        created = not db.has_schema(engine)
        if created:
            present = sorted(set(inspect(engine).get_table_names()) & set(Base.metadata.tables))
            if present:
                # Half a schema is someone's data or a failed run: never guess, never add to it.
                raise SchemaError(f"the database holds some xmlcurl tables ({', '.join(present[:5])}) but not "
                                  "config_version: finish or undo that set-up (xmlcurl init-db --reset recreates all)")
            db.create_schema(engine)
        else:
            _add_presentable_numbers(engine)
        seeded = demo and _holds_no_data(engine)
        if seeded:
            from .seed import DEMO_SQL, load_sql_file

            load_sql_file(engine, DEMO_SQL)
    if seeded:
        log.warning("loaded the demo data (fixtures/demo.sql): its admin and node secrets are public, "
                    "never use this database in production")
    elif created:
        log.warning(NEXT_STEPS)
    return Outcome(created, seeded)


def prepare_app(app: Flask, demo: bool = False) -> Outcome | None:
    """`prepare` on the app's primary database (demo also when XMLCURL_SEED_DEMO is on).

    An unreachable database is logged, not fatal: the service starts degraded and recovers alone.
    """
    settings = app.config["XMLCURL"]
    try:
        return prepare(app.extensions["xmlcurl.db"].engine, demo=demo or settings["SEED_DEMO"])
    except db.UNAVAILABLE as exc:
        log.error("database unreachable at start (%s): its tables were not checked", exc.__class__.__name__)
        return None


def _add_presentable_numbers(engine: Engine) -> None:
    """An embedded database made before presentable_numbers gets it (MySQL/MariaDB: upgrades/2026-12.sql)."""
    if inspect(engine).has_table("presentable_numbers"):
        return
    if not db.is_sqlite(engine):
        log.error("the database lacks presentable_numbers: run upgrades/2026-12.sql, or, on a database an earlier "
                  "copy of that script upgraded, only its presentable_numbers part (the table, its six triggers and "
                  "the INSERT that fills it); fetches of users fail until then")
        return
    from . import presentable
    from .models import PRESENTABLE_SOURCES, PresentableNumber

    missing = [table for table in PRESENTABLE_SOURCES if not inspect(engine).has_table(table)]
    if missing:
        log.error("the embedded database lacks %s: it predates this release's schema; recreate it "
                  "(xmlcurl init-db --reset, destroying its data)", ", ".join(missing))
        return

    PresentableNumber.__table__.create(engine)
    presentable.rebuild(engine)  # puts its triggers in place, then fills it
    log.warning("added presentable_numbers to the embedded database (a copy of its DIDs and approved caller IDs)")


def _holds_no_data(engine: Engine) -> bool:
    """No node, tenant or admin: the demo may be loaded without mixing with real data."""
    with engine.connect() as conn:
        return not any(conn.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first()
                       for table in ("nodes", "tenants", "admin_users"))


@contextlib.contextmanager
def _exclusive(engine: Engine) -> Iterator[None]:
    """Hold a lock every process starting on this database shares (MySQL GET_LOCK, a file lock for SQLite)."""
    if db.is_sqlite(engine):
        path = engine.url.database
        if not path or path == ":memory:":
            yield  # private to this process
            return
        with open(Path(path).with_name(Path(path).name + ".init-lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    # GET_LOCK names are server-wide: the database's name keeps two xmlcurl databases apart.
    name = f"xmlcurl-init:{engine.url.database}"[:64]
    with engine.connect() as conn:
        got = conn.execute(text("SELECT GET_LOCK(:name, :timeout)"), {"name": name, "timeout": LOCK_TIMEOUT}).scalar()
        if got != 1:
            raise RuntimeError(f"another process held the {name!r} lock for over {LOCK_TIMEOUT}s")
        try:
            yield
        finally:
            conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
