"""upgrades/2026-12.sql turns a database made by the previous schema.sql into today's, data kept.

The previous schema and demo data are kept beside this test as they were shipped (November 2026).
The upgraded database must match one made by today's schema.sql in every table, column, index,
constraint, trigger and view, and its triggers must record changes like a new one's.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine

from tests.conftest import MYSQL_URL, mysql_server_engine
from xmlcurl import db

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
UPGRADE = ROOT / "upgrades" / "2026-12.sql"

pytestmark = pytest.mark.mysql


def _run(engine: Engine, sql: str) -> None:
    with engine.begin() as conn:
        for statement in db.schema_statements(sql):
            conn.exec_driver_sql(statement)


@pytest.fixture
def databases():
    """(upgraded, fresh): two empty MariaDB databases, dropped afterwards."""
    engines = []
    for suffix in ("_upgraded", "_fresh"):
        url = MYSQL_URL + suffix
        engine = mysql_server_engine(url)
        with engine.begin() as conn:
            for table in conn.exec_driver_sql("SHOW FULL TABLES").all():
                kind = "VIEW" if table[1] == "VIEW" else "TABLE"
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
                conn.exec_driver_sql(f"DROP {kind} `{table[0]}`")
        engines.append(engine)
    yield engines
    for engine in engines:
        name = engine.url.database
        engine.dispose()
        server = create_engine(make_url(str(engine.url.render_as_string(hide_password=False))).set(database=""))
        with server.begin() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        server.dispose()


def _shape(engine: Engine) -> dict[str, list[tuple]]:
    """Everything that defines the schema, from information_schema, without positions or names of the database."""
    name = engine.url.database
    queries = {
        "columns": "SELECT table_name, column_name, column_type, is_nullable, column_default, collation_name, extra "
                   "FROM information_schema.columns WHERE table_schema = :db",
        "indexes": "SELECT table_name, index_name, seq_in_index, column_name, non_unique "
                   "FROM information_schema.statistics WHERE table_schema = :db",
        "constraints": "SELECT table_name, constraint_name, constraint_type "
                       "FROM information_schema.table_constraints WHERE constraint_schema = :db",
        "foreign_keys": "SELECT constraint_name, table_name, referenced_table_name, update_rule, delete_rule "
                        "FROM information_schema.referential_constraints WHERE constraint_schema = :db",
        "checks": "SELECT table_name, constraint_name, check_clause "
                  "FROM information_schema.check_constraints WHERE constraint_schema = :db",
        "triggers": "SELECT trigger_name, event_manipulation, event_object_table, action_timing, action_order, "
                    "action_statement FROM information_schema.triggers WHERE trigger_schema = :db",
        "views": "SELECT table_name, REPLACE(view_definition, CONCAT('`', :db, '`.'), '') "
                 "FROM information_schema.views WHERE table_schema = :db",
        "tables": "SELECT table_name, engine, table_collation FROM information_schema.tables WHERE table_schema = :db",
    }
    with engine.connect() as conn:
        return {kind: sorted(tuple(row) for row in conn.execute(text(sql), {"db": name}))
                for kind, sql in queries.items()}


def test_the_upgrade_gives_the_schema_of_a_new_database_and_keeps_the_data(databases):
    upgraded, fresh = databases
    _run(upgraded, (HERE / "schema-2026-11.sql").read_text())
    _run(upgraded, (HERE / "demo-2026-11.sql").read_text())
    _run(upgraded, UPGRADE.read_text())
    db.create_schema(fresh)

    got, want = _shape(upgraded), _shape(fresh)
    for kind in want:
        assert got[kind] == want[kind], kind
    with upgraded.connect() as conn:
        counts = conn.execute(text("SELECT (SELECT COUNT(*) FROM sip_users), (SELECT COUNT(*) FROM dids), "
                                   "(SELECT LENGTH(epoch) FROM config_version WHERE id = 1)")).one()
        approved = conn.execute(text("SELECT t.code, a.number FROM approved_caller_ids a "
                                     "JOIN tenants t ON t.id = a.tenant_id ORDER BY t.code")).all()
        defaults = conn.execute(text("SELECT code, default_cid_number FROM tenants ORDER BY code")).all()
    assert tuple(counts) == (30, 3, 32)
    # Calls keep their caller ID: every tenant's default number is approved by the upgrade.
    assert [tuple(row) for row in approved] == [tuple(row) for row in defaults]


def test_an_upgraded_database_records_which_tenant_a_change_touched(databases):
    upgraded, _ = databases
    _run(upgraded, (HERE / "schema-2026-11.sql").read_text())
    _run(upgraded, (HERE / "demo-2026-11.sql").read_text())
    _run(upgraded, UPGRADE.read_text())
    with upgraded.begin() as conn:
        before = conn.execute(text("SELECT version FROM config_version WHERE id = 1")).scalar_one()
        conn.execute(text("UPDATE sip_users SET enabled = 0 WHERE username = '1000' "
                          "AND tenant_id = (SELECT id FROM tenants WHERE code = 'globex')"))
        tenant = conn.execute(text("SELECT id FROM tenants WHERE code = 'globex'")).scalar_one()
        change = conn.execute(text("SELECT version, table_name, tenant_id FROM config_changes "
                                   "WHERE version > :v"), {"v": before}).one()
    assert tuple(change) == (before + 1, "sip_users", tenant)
