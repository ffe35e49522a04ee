"""Two workers of one instance, a series of changes, then the database stops: both serve the same,
newest answer for every key either of them loaded, and never one a later change superseded.

The workers are two apps sharing one last-good store directory (as gunicorn's workers share the
instance's), against a private MariaDB that the test stops and starts.
"""
from __future__ import annotations

import hashlib
import os
import signal

import pytest

from tests.conftest import BASE_SETTINGS, basic_auth, cluster_body, make_body
from tests.waiting import eventually
from tests.mariadb_server import PrivateMariaDB, require_binaries
from xmlcurl import create_app, db
from xmlcurl.fetch.cache import fetch_cache
from xmlcurl.seed import DEMO_SQL, load_sql_file

pytestmark = pytest.mark.mysql

ACME_OUTBOUND = ("media-1", cluster_body("media-1_dialplan_acme-outbound"))
ROUTER_FROM_MEDIA = ("router-1", cluster_body("router-1_dialplan_from-media"))
MD5_CHANGED = hashlib.md5(b"changed").hexdigest()


def sip_auth(node: str, tenant: str, user: str) -> tuple[str, bytes]:
    domain = f"{tenant}.example.com"
    return node, make_body(node, "directory", "domain", "name", domain, user=user, domain=domain, action="sip_auth")


def create_database(server: PrivateMariaDB) -> None:
    """schema.sql and the demo data, from scratch (a new epoch each time)."""
    server.execute("DROP DATABASE IF EXISTS xmlcurl")
    server.execute("CREATE DATABASE xmlcurl CHARACTER SET utf8mb4")
    engine = db.make_engine(server.url, {"DB_POOL_SIZE": 2, "DB_POOL_RECYCLE": 60,
                                         "DB_CONNECT_TIMEOUT": 2, "DB_READ_TIMEOUT": 5})
    db.create_schema(engine)
    load_sql_file(engine, DEMO_SQL)
    engine.dispose()


@pytest.fixture
def server(tmp_path_factory):
    require_binaries()
    mariadb = PrivateMariaDB(tmp_path_factory.mktemp("last-good"), server_id=1).install().start()
    try:
        create_database(mariadb)
        yield mariadb
    finally:
        if mariadb.process is not None:
            os.kill(mariadb.process.pid, signal.SIGCONT)
        mariadb.stop()


def worker(server: PrivateMariaDB, store_dir) -> object:
    app = create_app({**BASE_SETTINGS, "DATABASE_URL": server.url, "FETCH_BUDGET_MS": 1000,
                      "CACHE_POLL_SECONDS": 0, "LAST_GOOD_DIR": str(store_dir)})
    return app


def ask(app, request: tuple[str, bytes]):
    node, body = request
    return app.test_client().post("/freeswitch", data=body, headers=basic_auth(node, f"{node}-secret"),
                                  content_type="application/x-www-form-urlencoded")


def written(*apps) -> None:
    """Wait for the workers' write-behind to reach the store (it takes milliseconds; a test must not guess)."""
    for app in apps:
        fetch_cache(app).store.flush()


def test_two_workers_serve_the_same_newest_answers_through_an_outage(server, tmp_path):
    one, two = worker(server, tmp_path / "store"), worker(server, tmp_path / "store")
    acme_users = [sip_auth("media-1", "acme", u) for u in ("1000", "1001", "1002")]
    globex_users = [sip_auth("media-2", "globex", u) for u in ("2000", "2001")]
    for app in (one, two):
        for request in (ACME_OUTBOUND, ROUTER_FROM_MEDIA, *acme_users):
            assert ask(app, request).status_code == 200
    # A series of changes; after the last, only the first worker asks again for acme's answers.
    server.execute("UPDATE tenants SET max_calls = 1 WHERE code = 'acme'", database="xmlcurl")
    for app in (one, two):
        assert b"tenant-calls acme 1 " in ask(app, ACME_OUTBOUND).data
        assert b"tenant-calls-router acme 1 " in ask(app, ROUTER_FROM_MEDIA).data
    server.execute("UPDATE tenants SET max_calls = 100 WHERE code = 'acme'", database="xmlcurl")
    server.execute("UPDATE sip_users SET a1_hash = MD5('changed') WHERE username = '1001' AND tenant_id = "
                   "(SELECT id FROM tenants WHERE code = 'acme')", database="xmlcurl")
    newest = {}
    for request in (ACME_OUTBOUND, ROUTER_FROM_MEDIA, *acme_users):
        response = ask(one, request)
        assert response.status_code == 200
        newest[request] = response.data
    assert b"tenant-calls acme 100 " in newest[ACME_OUTBOUND]
    assert MD5_CHANGED.encode() in newest[acme_users[1]]
    for request in globex_users:  # and only the second worker ever asks for these
        newest[request] = ask(two, request).data
    written(one, two)

    server.stop()
    for app in (one, two):
        for request, data in newest.items():
            response = ask(app, request)
            assert (response.status_code, response.data) == (200, data), request
        # A key no worker ever loaded: the outage answer it always had.
        assert ask(app, sip_auth("media-2", "initech", "3000")).status_code == 503
    # A worker started during the outage (a restarted gunicorn worker) serves them too.
    three = worker(server, tmp_path / "store")
    ready = three.test_client().get("/readyz")
    assert (ready.status_code, ready.get_json()["status"]) == (200, "degraded")  # the store can serve
    for request, data in newest.items():
        assert ask(three, request).data == data

    # The database is created again (a new epoch): nothing built from the old one is served as current.
    server.start()
    old_epoch = fetch_cache(one).epoch
    create_database(server)
    # One worker sees the new epoch and asks one key. On a loaded machine its first poll after the start
    # can fail while the answer's statement then succeeds: it asks again until a poll has seen the epoch.
    assert eventually(lambda: ask(one, globex_users[0]).status_code == 200 and fetch_cache(one).epoch != old_epoch,
                      timeout=30)
    written(one)
    server.stop()
    for app in (one, two, three):
        assert ask(app, globex_users[0]).status_code == 200
        for request in (ACME_OUTBOUND, ROUTER_FROM_MEDIA, *acme_users):
            assert ask(app, request).status_code == 503, request

