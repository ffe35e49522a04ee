"""presentable_numbers follows dids and approved_caller_ids through triggers, whoever writes them.

The fetch path approves caller numbers against this copy only, so every kind of plain-SQL write
to either source must reach it, on SQLite as on MariaDB; a copy out of step is found and repaired.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.conftest import BASE_SETTINGS, MYSQL_URL, cluster_body, mysql_server_engine, seed_demo
from xmlcurl import bootstrap, create_app, db, presentable
from xmlcurl.cli import data


def _copy(conn) -> set[tuple]:
    return {tuple(r) for r in conn.execute(text(
        "SELECT source, source_id, tenant_id, number FROM presentable_numbers"))}


def _did_rows(conn, number: str) -> set[tuple]:
    return {tuple(r) for r in conn.execute(text(
        "SELECT 'dids', id, tenant_id, :bare FROM dids WHERE number = :number"),
        {"number": number, "bare": number.lstrip("+")})}


def test_demo_data_is_copied_whole(app):
    with app.app_context():
        conn = db.session().connection()
        assert presentable.drift(conn).in_step
        assert ("approved_caller_ids", 1, 1, "8657100000000") in _copy(conn)
        assert ("dids", 1, 1, "8610000001") in _copy(conn)


def test_plain_sql_writes_to_either_source_reach_the_copy(app):
    with app.app_context():
        sess = db.session()
        conn = sess.connection()
        conn.execute(text("INSERT INTO dids (number, tenant_id) VALUES ('+8610000077', 1)"))
        assert _did_rows(conn, "+8610000077") <= _copy(conn)  # stored with '+', copied without
        # Moved to another tenant under a new number: the copy follows both.
        conn.execute(text("UPDATE dids SET tenant_id = 2, number = '8610000078' WHERE number = '+8610000077'"))
        copy = _copy(conn)
        assert _did_rows(conn, "8610000078") <= copy
        assert not any(number == "8610000077" for _, _, _, number in copy)
        conn.execute(text("DELETE FROM dids WHERE number = '8610000078'"))
        assert not any(number == "8610000078" for _, _, _, number in _copy(conn))
        conn.execute(text("INSERT INTO approved_caller_ids (tenant_id, number) VALUES (3, '+15550100099')"))
        conn.execute(text("UPDATE approved_caller_ids SET number = '15550100098' WHERE number = '+15550100099'"))
        assert [row[2:] for row in _copy(conn) if row[3].startswith("1555010009")] == [(3, "15550100098")]
        conn.execute(text("DELETE FROM approved_caller_ids WHERE tenant_id = 3"))
        assert not any(row[0] == "approved_caller_ids" and row[2] == 3 for row in _copy(conn))
        assert presentable.drift(conn).in_step
        sess.rollback()


def test_a_number_approved_by_plain_sql_is_presented_at_once(app, fetch):
    body = cluster_body("media-1_directory_sip_auth_acme-1000")
    with app.app_context():
        sess = db.session()
        sess.execute(text("UPDATE sip_users SET cid_number = '8657100000111' WHERE tenant_id = 1 AND username = '1000'"))
        sess.commit()
    assert b'name="effective_caller_id_number" value="1000"' in fetch(body).data
    with app.app_context():
        sess = db.session()
        sess.execute(text("INSERT INTO approved_caller_ids (tenant_id, number) VALUES (1, '+8657100000111')"))
        sess.commit()
    assert b'name="effective_caller_id_number" value="8657100000111"' in fetch(body).data


@pytest.fixture
def own_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest):
    """(app, engine) on a demo database of their own: --repair commits and creates triggers (which MariaDB
    commits at once), so it cannot run inside the shared test transaction of the `app` fixture."""
    if backend == "sqlite":
        path = tmp_path / "own.sqlite3"
        path.write_bytes(request.getfixturevalue("sqlite_template").read_bytes())
        url = f"sqlite:///{path}"
    else:
        url = MYSQL_URL + "_presentable"
        engine = mysql_server_engine(url)
        db.drop_all(engine)
        db.create_schema(engine)
        seed_demo(engine)
        engine.dispose()
    application = create_app({**BASE_SETTINGS, "DATABASE_URL": url})
    yield application, application.extensions["xmlcurl.db"].engine
    application.extensions["xmlcurl.db"].dispose()


def _version(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version FROM config_version WHERE id = 1")).scalar_one()


def test_a_copy_out_of_step_is_found_and_rebuilt_and_every_worker_told(own_database):
    app, engine = own_database
    cli = app.test_cli_runner()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM presentable_numbers WHERE source = 'dids'"))
        conn.execute(text("INSERT INTO presentable_numbers (source, source_id, tenant_id, number) "
                          "VALUES ('approved_caller_ids', 999, 1, '1234')"))
    result = cli.invoke(data.presentable_numbers)
    assert result.exit_code == 1
    assert "3 rows missing, 1 extra or wrong" in result.output
    before = _version(engine)
    result = cli.invoke(data.presentable_numbers, ["--repair"])
    assert result.exit_code == 0, result.output
    assert "3 rows were missing, 1 were extra or wrong" in result.output
    # A change of every tenant (-1), so no worker keeps an answer made from the wrong copy.
    assert _version(engine) == before + 1
    with engine.connect() as conn:
        change = conn.execute(text("SELECT table_name, tenant_id FROM config_changes WHERE version = :v"),
                              {"v": before + 1}).one()
    assert tuple(change) == ("presentable_numbers", -1)
    result = cli.invoke(data.presentable_numbers)
    assert result.exit_code == 0 and "matches" in result.output
    assert cli.invoke(data.presentable_numbers, ["--repair"]).exit_code == 0
    assert _version(engine) == before + 1  # nothing was out of step: no change recorded


def test_missing_triggers_are_found_and_put_back(own_database):
    app, engine = own_database
    cli = app.test_cli_runner()
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER trg_dids_ai_presentable")
        conn.execute(text("INSERT INTO dids (number, tenant_id) VALUES ('8610000066', 1)"))  # not copied
    result = cli.invoke(data.presentable_numbers)
    assert result.exit_code == 1
    assert "1 rows missing" in result.output and "triggers missing: trg_dids_ai_presentable" in result.output
    result = cli.invoke(data.presentable_numbers, ["--repair"])
    assert "triggers put back: trg_dids_ai_presentable" in result.output, result.output
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO dids (number, tenant_id) VALUES ('8610000067', 1)"))
        assert presentable.drift(conn).in_step


def test_a_leftover_copy_row_never_blocks_a_write_and_replace_is_followed(own_database):
    _, engine = own_database
    with engine.begin() as conn:
        # A row left behind for a DID id that does not exist yet: the insert that takes the id overwrites it.
        conn.execute(text("INSERT INTO presentable_numbers (source, source_id, tenant_id, number) "
                          "VALUES ('dids', 50, 2, '999')"))
        conn.execute(text("INSERT INTO dids (id, number, tenant_id) VALUES (50, '8610000050', 1)"))
        # REPLACE over another row's number deletes that row: its copy goes with it.
        replace = "INSERT OR REPLACE" if db.is_sqlite(engine) else "REPLACE"
        conn.execute(text(f"{replace} INTO dids (id, number, tenant_id) VALUES (51, '8610000050', 2)"))
        assert presentable.drift(conn).in_step
        assert [row for row in _copy(conn) if row[3] == "8610000050"] == [("dids", 51, 2, "8610000050")]


def test_an_embedded_database_made_before_the_copy_gets_it_filled(tmp_path: Path, sqlite_template: Path):
    path = tmp_path / "old.sqlite3"
    path.write_bytes(sqlite_template.read_bytes())
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for table in ("dids", "approved_caller_ids"):
            for event in ("ai", "au", "ad"):
                conn.exec_driver_sql(f"DROP TRIGGER trg_{table}_{event}_presentable")
        conn.exec_driver_sql("DROP TABLE presentable_numbers")
    bootstrap.prepare(engine)
    assert inspect(engine).has_table("presentable_numbers")
    with engine.begin() as conn:
        assert presentable.drift(conn).in_step
        assert len(_copy(conn)) == 6  # the demo's 3 DIDs and 3 approvals
        conn.execute(text("INSERT INTO dids (number, tenant_id) VALUES ('8610000055', 1)"))  # the triggers are back
        assert presentable.drift(conn).in_step
    engine.dispose()


@pytest.mark.parametrize("numbers", [("8610000001",), ("8610000001", "8657100000000", None)])
def test_presentable_sql_finds_the_tenants_numbers_among_those_given(app, numbers):
    from xmlcurl.fetch.callerids import presentable_numbers, presentable_sql

    columns = presentable_sql(*(f":n{i}" for i in range(len(numbers))))
    with app.app_context():
        row = db.session().execute(text(f"SELECT {columns['presentable']} AS presentable FROM tenants t "
                                        "WHERE t.id = 1"), {f"n{i}": n for i, n in enumerate(numbers)}).one()
    assert presentable_numbers(row) == {n for n in numbers if n}


@pytest.mark.mysql
def test_a_mariadb_database_without_the_copy_is_named_at_start_and_left_alone(tmp_path: Path, caplog):
    engine = mysql_server_engine(MYSQL_URL + "_presentable_missing")
    db.drop_all(engine)
    db.create_schema(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE presentable_numbers")
    bootstrap.prepare(engine)
    assert "lacks presentable_numbers: run upgrades/2026-12.sql" in caplog.text
    assert not inspect(engine).has_table("presentable_numbers")  # schema changes there are the operator's
    engine.dispose()
