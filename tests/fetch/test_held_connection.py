"""The fetch path's held read connection: one per thread from fetch to fetch, given up when dead, old or inherited."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import BASE_SETTINGS, MYSQL_URL, cluster_body
from xmlcurl import create_app
from xmlcurl.held_connection import HeldConnections

MEDIA_1 = {"Authorization": "Basic bWVkaWEtMTptZWRpYS0xLXNlY3JldA=="}  # media-1:media-1-secret


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def database(request: pytest.FixtureRequest, tmp_path: Path):
    """The Database of an app on the demo data (SQLite copy, or the MariaDB test database, only read)."""
    if request.param == "sqlite":
        path = tmp_path / "xmlcurl.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        request.getfixturevalue("mysql_engine")
        url = MYSQL_URL
    app = create_app({**BASE_SETTINGS, "DATABASE_URL": url, "CACHE": False, "LAST_GOOD_DIR": str(tmp_path / "lg")})
    found = app.extensions["xmlcurl.db"]
    found.app = app
    yield found
    found.dispose()


def _driver_connection(connection):
    return connection.connection.dbapi_connection


def test_a_threads_fetches_run_on_the_connection_it_holds(database):
    client = database.app.test_client()
    body = cluster_body("media-1_directory_sip_auth_acme-1000")
    seen = []
    for _ in range(3):
        answer = client.post("/freeswitch", data=body, headers=MEDIA_1, content_type="application/x-www-form-urlencoded")
        assert answer.status_code == 200 and b'<user id="1000"' in answer.data
        connection, _done = database.fetch_connection()
        seen.append(_driver_connection(connection))
    assert seen[0] is seen[1] is seen[2]
    assert len(database.held_fetch_connections) == 1
    # Held, not given back: the pool counts it as checked out, once.
    assert database.fetch_engine.pool.checkedout() == 1


def test_an_invalidated_connection_is_given_up_and_the_next_fetch_takes_a_new_one(database):
    held = database.held_fetch_connections
    connection, done = held.take()
    first = _driver_connection(connection)
    connection.invalidate()
    done()
    assert len(held) == 0
    again, _done = held.take()
    assert not again.invalidated and _driver_connection(again) is not first
    assert again.execute(text("SELECT 1")).scalar() == 1


def test_a_connection_older_than_the_recycle_time_is_given_back_and_replaced(database):
    now = [0.0]
    held = HeldConnections(database.fetch_engine, recycle_seconds=60, limit=2, clock=lambda: now[0])
    connection, _done = held.take()
    assert held.take()[0] is connection
    now[0] = 61.0
    replaced, _done = held.take()
    assert replaced is not connection and connection.closed and len(held) == 1
    held.close_all()


def test_threads_beyond_the_limit_take_a_connection_per_fetch_and_give_it_back(database):
    held = HeldConnections(database.fetch_engine, recycle_seconds=60, limit=1)
    pool = database.fetch_engine.pool
    before = pool.checkedout()
    kept, _done = held.take()
    results = []

    def other_thread():
        connection, done = held.take()
        results.append((connection is kept, connection.execute(text("SELECT 1")).scalar()))
        done()
        results.append(connection.closed)

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    assert results == [(False, 1), True]
    assert pool.checkedout() == before + 1  # only the first thread's is still out
    held.close_all()
    assert pool.checkedout() == before and kept.closed


def test_a_forked_child_never_uses_or_closes_the_parents_connection(database, monkeypatch):
    import os

    held = database.held_fetch_connections
    parents, _done = held.take()
    monkeypatch.setattr(os, "getpid", lambda real=os.getpid(): real + 1)
    childs, _done = held.take()
    assert childs is not parents
    assert not parents.closed  # its socket is the parent's: left alone
    held.close_all()
    assert childs.closed and not parents.closed
    monkeypatch.undo()
    parents.close()
