"""schema.sql (production's source of truth) and the SQLAlchemy models describe the same database."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from tests.conftest import MYSQL_URL, mysql_server_engine
from xmlcurl import db
from xmlcurl.models import VERSIONED_TABLES, Base

pytestmark = pytest.mark.mysql


@pytest.fixture(scope="module")
def schema_sql_engine():
    """A MariaDB database created from schema.sql alone."""
    engine = mysql_server_engine(MYSQL_URL + "_schema_sql")
    db.drop_all(engine)
    with engine.begin() as conn:
        for name in [r[0] for r in conn.execute(text("SHOW TRIGGERS"))]:
            conn.execute(text(f"DROP TRIGGER `{name}`"))
    db.create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def models_engine():
    """A MariaDB database created from the models alone."""
    engine = mysql_server_engine(MYSQL_URL + "_models")
    db.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def describe(engine) -> dict:
    inspector = inspect(engine)
    tables = {}
    for table in sorted(inspector.get_table_names()):
        columns = {
            c["name"]: (str(c["type"].compile(dialect=engine.dialect)), c["nullable"])
            for c in inspector.get_columns(table)
        }
        indexes = {(i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)}
        indexes |= {(u["name"], tuple(u["column_names"]), True) for u in inspector.get_unique_constraints(table)}
        fks = {
            (f["name"], tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]),
             (f.get("options") or {}).get("ondelete", "RESTRICT").upper())
            for f in inspector.get_foreign_keys(table)
        }
        pk = tuple(inspector.get_pk_constraint(table)["constrained_columns"])
        tables[table] = {"columns": columns, "indexes": indexes, "foreign_keys": fks, "primary_key": pk}
    return tables


def test_schema_sql_and_models_have_the_same_tables(schema_sql_engine, models_engine):
    assert sorted(describe(schema_sql_engine)) == sorted(describe(models_engine))


@pytest.mark.parametrize("part", ["columns", "indexes", "foreign_keys", "primary_key"])
def test_schema_sql_and_models_agree_on(part, schema_sql_engine, models_engine):
    ours, theirs = describe(schema_sql_engine), describe(models_engine)
    for table in sorted(ours):
        assert ours[table][part] == theirs[table][part], f"{table}.{part}"


def test_tables_are_innodb_utf8mb4(schema_sql_engine):
    with schema_sql_engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT table_name, engine, table_collation FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'")).all()
    assert rows
    for name, engine, collation in rows:
        assert engine == "InnoDB", name
        assert collation.startswith("utf8mb4"), name


def test_every_configuration_table_has_version_triggers(schema_sql_engine):
    with schema_sql_engine.connect() as conn:
        triggers = {(r.Table, r.Event) for r in conn.execute(text("SHOW TRIGGERS"))}
    for table in VERSIONED_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            assert (table, event) in triggers


def test_plain_sql_change_bumps_the_config_version(schema_sql_engine):
    with schema_sql_engine.begin() as conn:
        before = conn.execute(text("SELECT version FROM config_version WHERE id = 1")).scalar_one()
        conn.execute(text("INSERT INTO gateways (name, proxy) VALUES ('gw-version-test', '192.0.2.1')"))
        conn.execute(text("UPDATE gateways SET prepend = '9' WHERE name = 'gw-version-test'"))
        conn.execute(text("DELETE FROM gateways WHERE name = 'gw-version-test'"))
        after = conn.execute(text("SELECT version FROM config_version WHERE id = 1")).scalar_one()
    assert after == before + 3


def test_registering_gateway_without_credentials_is_refused_by_the_database(schema_sql_engine):
    from sqlalchemy.exc import IntegrityError, OperationalError

    with pytest.raises((IntegrityError, OperationalError), match="ck_gateways_register_credentials"):
        with schema_sql_engine.begin() as conn:
            conn.execute(text("INSERT INTO gateways (name, proxy, register) VALUES ('gw-reg', '192.0.2.1', 1)"))


def test_did_cannot_point_at_another_tenants_user(schema_sql_engine):
    from sqlalchemy.exc import IntegrityError

    with schema_sql_engine.begin() as conn:
        conn.execute(text("DELETE FROM dids"))
        conn.execute(text("DELETE FROM sip_users"))
        conn.execute(text("DELETE FROM tenants"))
        conn.execute(text("INSERT INTO tenants (id, code, name, sip_domain, context) VALUES "
                          "(1, 'a', 'A', 'a.example.com', 'tenant-a'), (2, 'b', 'B', 'b.example.com', 'tenant-b')"))
        conn.execute(text("INSERT INTO sip_users (id, tenant_id, username, a1_hash) VALUES (1, 1, '1000', :h)"),
                     {"h": "0" * 32})
    with pytest.raises(IntegrityError, match="fk_dids_tenant_user"):
        with schema_sql_engine.begin() as conn:
            conn.execute(text("INSERT INTO dids (number, tenant_id, user_id) VALUES ('8610000009', 2, 1)"))
