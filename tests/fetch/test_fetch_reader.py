"""The fetch path's reader: text() statements straight to the driver, compiled once, retried once on a dead connection."""
from __future__ import annotations

import pytest
from sqlalchemy import bindparam, create_engine, text

from tests.conftest import BASE_SETTINGS, MYSQL_URL, cluster_body
from xmlcurl import create_app, db

LIST_STATEMENT = text("SELECT n FROM t WHERE n IN :numbers AND m LIKE '5%' AND k = :k").bindparams(
    bindparam("numbers", expanding=True))


@pytest.mark.parametrize(("url", "marks"), [
    ("sqlite://", [":numbers_1, :numbers_2, :numbers_3", "'5%'", ":k"]),
    ("mysql+pymysql://", ["%(numbers_1)s, %(numbers_2)s, %(numbers_3)s", "'5%%'", "%(k)s"]),
])
def test_a_text_statement_is_rendered_in_the_drivers_own_parameter_style(url, marks):
    prepared = db.prepare_text(LIST_STATEMENT, create_engine(url).dialect)
    sql, params = prepared.render({"numbers": ["1", "+1", "2"], "k": 7})
    assert all(mark in sql for mark in marks), sql
    assert params == {"numbers_1": "1", "numbers_2": "+1", "numbers_3": "2", "k": 7}
    # The same statement and dialect are compiled once; each list length is rendered once.
    assert db.prepare_text(LIST_STATEMENT, create_engine(url).dialect) is prepared
    assert prepared.render({"numbers": ["9"], "k": 1})[0].count("numbers_") == 1


def test_an_empty_list_is_refused_rather_than_sent_as_bad_sql():
    prepared = db.prepare_text(LIST_STATEMENT, create_engine("sqlite://").dialect)
    with pytest.raises(ValueError, match="numbers"):
        prepared.render({"numbers": [], "k": 1})


def test_rows_come_back_as_named_tuples_with_all_and_first(app):
    with app.app_context():
        reader = db.fetch_connection()
        rows = reader.execute(text("SELECT code, context FROM tenants WHERE code = :code"), {"code": "acme"}).all()
        assert [(row.code, row.context) for row in rows] == [("acme", "tenant-acme")]
        assert reader.execute(text("SELECT code FROM tenants WHERE code = :code"), {"code": "none"}).first() is None


@pytest.mark.mysql
def test_a_fetch_whose_pooled_connection_the_server_killed_is_answered_on_a_new_one(mysql_engine):
    app = create_app({**BASE_SETTINGS, "DATABASE_URL": MYSQL_URL, "CACHE": False})
    database = app.extensions["xmlcurl.db"]
    client = app.test_client()
    body = cluster_body("media-1_directory_sip_auth_acme-1000")
    headers = {"Authorization": "Basic bWVkaWEtMTptZWRpYS0xLXNlY3JldA=="}  # media-1:media-1-secret

    def fetch():
        return client.post("/freeswitch", data=body, headers=headers, content_type="application/x-www-form-urlencoded")

    def pooled_connection_id() -> int:
        # The connection this thread's fetches hold between them.
        connection, _done = database.fetch_connection()
        return connection.exec_driver_sql("SELECT CONNECTION_ID()").scalar()

    try:
        assert fetch().status_code == 200
        killed = pooled_connection_id()
        with mysql_engine.connect() as admin:
            admin.execute(text(f"KILL CONNECTION {int(killed)}"))
        answered = fetch()
        assert answered.status_code == 200 and b'<user id="1000"' in answered.data
        assert pooled_connection_id() != killed
    finally:
        database.dispose()


@pytest.mark.mysql
def test_every_mariadb_connection_lets_a_json_list_grow_past_the_servers_1_mb_default(mysql_engine):
    # MariaDB cuts JSON_ARRAYAGG at group_concat_max_len with only a warning: a router's list of routes
    # would lose its tail (and fail to parse) instead of being answered whole.
    app = create_app({**BASE_SETTINGS, "DATABASE_URL": MYSQL_URL})
    database = app.extensions["xmlcurl.db"]
    try:
        for engine in (database.engine, database.fetch_engine):
            with engine.connect() as conn:
                assert conn.execute(text("SELECT @@SESSION.group_concat_max_len")).scalar() >= 64 * 1024 * 1024
    finally:
        database.dispose()


def test_json_arrayagg_is_a_json_list_and_null_over_no_rows_on_sqlite_as_on_mariadb(app):
    import json

    with app.app_context():
        reader = db.fetch_connection()
        found = reader.execute(text("SELECT JSON_ARRAYAGG(JSON_ARRAY(code, max_calls)) AS list FROM tenants "
                                    "WHERE code IN ('acme', 'globex')")).first()
        assert sorted(json.loads(found.list)) == [["acme", 100], ["globex", 50]]
        assert reader.execute(text("SELECT JSON_ARRAYAGG(JSON_ARRAY(code)) AS list FROM tenants "
                                   "WHERE code = 'none'")).first().list is None


def test_a_fetch_sends_a_statement_again_on_a_new_connection_once_not_for_every_statement():
    from sqlalchemy import literal, select
    from sqlalchemy.exc import DBAPIError

    attempts = []

    class Dropped:
        """A pooled connection the server has dropped: every statement finds it dead."""

        invalidated = True

        def execute(self, _statement, _parameters):
            attempts.append(1)
            raise DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True)

    reader = db.FetchReader(lambda: (Dropped(), lambda: None))
    for _ in range(2):
        with pytest.raises(DBAPIError):
            reader.execute(select(literal(1)))
    # The first statement is sent twice (the second time on a new connection); after that the
    # database is taken as failing for this fetch, and the next statement is not sent again.
    assert len(attempts) == 3


HOSTILE_VALUES = ["plain", "it's", 'say "hi"', "back\\slash", "100%", "%(k)s", "?", "x' OR '1'='1", "中文 😀", "", None, 7]


def test_a_statement_is_prepared_with_question_marks_and_its_parameters_in_order():
    from xmlcurl import prepared

    found = prepared.server_statement("SELECT a FROM t WHERE b = %(b)s AND c LIKE '5%%' AND d IN (%(d_1)s, %(b)s)")
    assert found.text == "SELECT a FROM t WHERE b = ? AND c LIKE '5%' AND d IN (?, ?)"
    assert found.order == ("b", "d_1", "b")
    assert prepared.server_statement("SELECT a FROM t WHERE b = %(b)s AND c LIKE '5%%' AND d IN (%(d_1)s, %(b)s)") \
        is found
    # A literal question mark would be taken by the server for a parameter: such a statement is sent as text.
    assert prepared.server_statement("SELECT '?' FROM t WHERE b = %(b)s") is None


def _prepared_counts(connection) -> tuple[int, int]:
    rows = dict(connection.exec_driver_sql(
        "SHOW SESSION STATUS WHERE Variable_name IN ('Com_prepare_sql', 'Com_execute_sql')").all())
    return int(rows["Com_prepare_sql"]), int(rows["Com_execute_sql"])


ON_MARIADB = pytest.mark.parametrize("backend", [pytest.param("mysql", marks=pytest.mark.mysql)])


@ON_MARIADB
def test_on_mariadb_a_fetch_statement_is_prepared_once_per_connection_and_values_arrive_exactly(app):
    echo = text("SELECT :value AS value, :n AS n")
    with app.app_context():
        reader = db.fetch_connection()
        connection = reader.connection
        prepares, executes = _prepared_counts(connection)
        for value in HOSTILE_VALUES:
            assert reader.execute(echo, {"value": value, "n": 1}).first().value in (value, str(value))
        assert _prepared_counts(connection) == (prepares + 1, executes + len(HOSTILE_VALUES))


@ON_MARIADB
def test_a_prepared_statement_the_server_no_longer_holds_is_prepared_again(app):
    from xmlcurl import prepared

    echo = text("SELECT :value AS value")
    with app.app_context():
        reader = db.fetch_connection()
        assert reader.execute(echo, {"value": "first"}).first().value == "first"
        sql = db.prepare_text(echo, reader.connection.dialect).sql
        reader.connection.exec_driver_sql(f"DEALLOCATE PREPARE {prepared.server_statement(sql).name}")
        assert reader.execute(echo, {"value": "again"}).first().value == "again"


@pytest.mark.mysql
def test_with_prepared_statements_off_the_fetch_path_sends_each_statements_text(mysql_engine):
    app = create_app({**BASE_SETTINGS, "DATABASE_URL": MYSQL_URL, "DB_PREPARED_STATEMENTS": False})
    try:
        with app.app_context():
            reader = db.fetch_connection()
            prepares, _ = _prepared_counts(reader.connection)
            for value in HOSTILE_VALUES:
                assert reader.execute(text("SELECT :value AS value"), {"value": value}).first().value in (value, str(value))
            assert _prepared_counts(reader.connection)[0] == prepares
            reader.release()
    finally:
        app.extensions["xmlcurl.db"].dispose()


def test_only_a_mariadb_server_runs_prepared_fetch_statements():
    # MySQL's EXECUTE ... USING takes only user variables (@a), not the literals xmlcurl sends.
    from types import SimpleNamespace

    from xmlcurl import prepared

    def pooled(version: str):
        return SimpleNamespace(info={}, dbapi_connection=SimpleNamespace(get_server_info=lambda: version))

    assert prepared.takes_literals(pooled("10.11.19-MariaDB-0+deb12u1"))
    assert not prepared.takes_literals(pooled("8.0.36"))
    assert not prepared.takes_literals(pooled("5.7.44-log"))


@ON_MARIADB
def test_a_connection_whose_server_takes_no_literals_sends_each_statements_text(app):
    with app.app_context():
        reader = db.fetch_connection()
        connection = reader.connection
        connection.connection.info["xmlcurl.execute_using_literals"] = False  # as for a MySQL server
        try:
            prepares, _ = _prepared_counts(connection)
            assert reader.execute(text("SELECT :value AS value, 2 AS two"), {"value": "it's"}).first().value == "it's"
            assert _prepared_counts(connection)[0] == prepares
        finally:
            connection.connection.info.pop("xmlcurl.execute_using_literals")


def test_when_the_server_holds_all_the_prepared_statements_it_allows_the_text_is_sent():
    # max_prepared_stmt_count is server-wide (16,382 by default): many instances x workers x pooled
    # connections could reach it, and a fetch must then still be answered.
    from xmlcurl import prepared

    class Cursor:
        def __init__(self):
            self.sent = []
            self.connection = type("Conn", (), {"escape": staticmethod(lambda value: repr(value))})()

        def execute(self, sql, parameters=None):
            if sql.startswith("PREPARE"):
                raise Exception(prepared.TOO_MANY_STATEMENTS, "Can't create more than max_prepared_stmt_count")
            self.sent.append((sql, parameters))

    statement = prepared.server_statement("SELECT name FROM tenants WHERE code = %(code)s")
    cursor, info = Cursor(), {}
    for _ in range(2):
        prepared.execute(cursor, info, statement, {"code": "acme"}, "SELECT name FROM tenants WHERE code = %(code)s")
    assert cursor.sent == [("SELECT name FROM tenants WHERE code = %(code)s", {"code": "acme"})] * 2
