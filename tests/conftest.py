"""Shared fixtures: the app on SQLite and on MariaDB, the test client, fetch helpers.

Every test that asks for `app`, `client` or `fetch` runs twice: on a fresh copy of a seeded
SQLite file, and on MariaDB inside a transaction that is rolled back (the app's sessions join it
through SAVEPOINTs). MariaDB tests skip when no server answers, except under CI=true.
"""
from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path
from typing import Callable
from urllib.parse import quote

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from xmlcurl import create_app, db, secrets
from xmlcurl.seed import DEMO_SQL, load_sql_file

TESTS = Path(__file__).resolve().parent
CONFORMANCE = TESTS / "conformance"
# One database per test run (named after the process), so concurrent runs never share tables.
MYSQL_URL = os.environ.get("XMLCURL_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/xmlcurl_test") + f"_{os.getpid()}"
IN_CI = os.environ.get("CI", "").lower() == "true"

# The fetch cache polls the config version on every fetch here, so a test that changes data sees
# the change on its next fetch (tests/fetch/test_cache.py covers the polling interval itself).
# A generous fetch budget: the deadline tests set their own, the others must not fail on a busy CI machine.
# No last-good store unless a test gives one its own directory (the `app` fixture does): a store
# shared by the apps of a run would answer one test's outage with another test's entries.
BASE_SETTINGS = {"ENV": "testing", "LOG_LEVEL": "WARNING", "SEED_DEMO": False, "CACHE_POLL_SECONDS": 0,
                 "FETCH_BUDGET_MS": 20000, "LAST_GOOD_DIR": "off"}


# Admin passwords use argon2's default profile (64 MiB, 3 passes, 4 lanes): about 0.2 s of CPU for each
# hash and each login on a CI machine, paid some 500 times by the admin and API tests. Here they are
# hashed with a cheap profile, and the demo admin's stored hash is made with it too (argon2 reads the
# profile from the hash it verifies). The shipped hash of fixtures/demo.sql is still signed in with by
# the tests whose app seeds the demo itself (test_first_start, test_cli_serve).
FAST_ADMIN_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_DEMO_ADMIN_HASH = FAST_ADMIN_HASHER.hash("demo-admin-password")


@pytest.fixture(autouse=True)
def fast_admin_hashes(monkeypatch):
    """Admin passwords hashed with the cheap profile in every test (the verifier reads it from the hash)."""
    monkeypatch.setattr(secrets, "hash_admin_password", FAST_ADMIN_HASHER.hash)


def seed_demo(engine: Engine) -> None:
    """The demo data, its admin's password stored under the cheap profile."""
    load_sql_file(engine, DEMO_SQL)
    with engine.begin() as conn:
        updated = conn.execute(text("UPDATE admin_users SET password_hash = :hash WHERE username = 'admin'"),
                               {"hash": _DEMO_ADMIN_HASH})
    assert updated.rowcount == 1


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: one worker more than the cores this process may use. A worker spends much of its
    time waiting (Chromium, MariaDB, Kamailio, subprocesses, the monitor's timeouts), and a third
    worker on the 2-core CI machine took the suite from about 277 s to 232 s.
    PYTEST_XDIST_AUTO_NUM_WORKERS still decides when it is set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return len(os.sched_getaffinity(0)) + 1


# --- databases -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the schema and the demo data, copied for each test."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}", {})
    db.create_schema(engine)
    seed_demo(engine)
    engine.dispose()
    return path


_created_databases: list[str] = []


def mysql_server_engine(url: str = MYSQL_URL) -> Engine:
    """An engine on the MariaDB test database, creating the database if needed; skip or fail if unreachable."""
    parsed = make_url(url)
    server = create_engine(parsed.set(database=""), connect_args={"connect_timeout": 3})
    try:
        with server.connect() as conn:
            conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{parsed.database}` CHARACTER SET utf8mb4"))
        _created_databases.append(url)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server decides skip/fail
        server.dispose()
        message = f"MariaDB not reachable at {parsed.render_as_string(hide_password=True)}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    server.dispose()
    return db.make_engine(url, _engine_settings())


def _engine_settings() -> dict:
    from xmlcurl import config

    return config.load(environ={}, overrides=BASE_SETTINGS)


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases():
    """Drop the MariaDB databases this run created."""
    yield
    for url in _created_databases:
        parsed = make_url(url)
        server = create_engine(parsed.set(database=""), connect_args={"connect_timeout": 3})
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))
        server.dispose()


@pytest.fixture(scope="session")
def mysql_engine() -> Engine:
    """The MariaDB test database, created from schema.sql and seeded with the demo data once."""
    engine = mysql_server_engine()
    db.drop_all(engine)
    db.create_schema(engine)
    seed_demo(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def app(backend: str, request: pytest.FixtureRequest, tmp_path: Path):
    """The app on a demo-seeded database that each test may change freely."""
    if backend == "sqlite":
        path = tmp_path / "xmlcurl.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        application = create_app({**BASE_SETTINGS, "DATABASE_URL": f"sqlite:///{path}",
                                  "LAST_GOOD_DIR": str(tmp_path / "last-good")})
        yield application
        application.extensions["xmlcurl.db"].dispose()
        return
    engine = request.getfixturevalue("mysql_engine")
    connection = engine.connect()
    outer = connection.begin()
    application = create_app({**BASE_SETTINGS, "DATABASE_URL": MYSQL_URL, "LAST_GOOD_DIR": str(tmp_path / "last-good")})
    database = application.extensions["xmlcurl.db"]
    database.dispose()
    for attr in ("sessionmaker", "read_sessionmaker"):
        setattr(database, attr, sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                                             expire_on_commit=False))
    # Code that needs an engine (bulk paths) gets this connection's transaction too.
    database.test_connection = connection
    # The fetch path's Core connection is this one too; it is not given back at teardown.
    database.fetch_connection = lambda: (connection, lambda: None)
    yield application
    outer.rollback()
    connection.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    """A session on the app's database, inside an app context."""
    with app.app_context():
        yield db.session()


# --- fetch bodies ----------------------------------------------------------------------------

def fs_encode(value: str) -> str:
    """URL-encode a parameter value the way FreeSWITCH does (%20 for a space, never '+')."""
    return quote(value, safe="-_.!~*'()")


def make_body(hostname: str, section: str, tag_name: str = "", key_name: str = "", key_value: str = "",
              **params: str) -> bytes:
    """A fetch body in FreeSWITCH's form: five raw leading fields, then encoded parameters."""
    body = f"hostname={hostname}&section={section}&tag_name={tag_name}&key_name={key_name}&key_value={key_value}"
    for name, value in params.items():
        body += f"&{name}={fs_encode(value)}"
    return body.encode("utf-8")


def captured_request(name: str) -> bytes:
    """The body of a captured request in conformance/requests/ (`name` without .http)."""
    raw = (CONFORMANCE / "requests" / f"{name}.http").read_bytes()
    head, _, body = raw.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return body[: int(line.split(b":", 1)[1])]
    return body


def cluster_body(name: str) -> bytes:
    """A body a demo cluster node sent (conformance/cluster/<name>.body)."""
    return (CONFORMANCE / "cluster" / f"{name}.body").read_bytes().rstrip(b"\n")


def retarget(body: bytes, **replacements: str) -> bytes:
    """Replace leading fields or parameters of a body (values given unencoded)."""
    from xmlcurl.fetch.request import LEADING_FIELDS

    text_body = body.decode("utf-8")
    pairs = text_body.split("&")
    out = []
    done = set()
    for index, pair in enumerate(pairs):
        name, _, value = pair.partition("=")
        if name in replacements and name not in done:
            leading = index < len(LEADING_FIELDS) and name == LEADING_FIELDS[index]
            value = replacements[name] if leading else fs_encode(replacements[name])
            done.add(name)
        out.append(f"{name}={value}")
    for name in replacements.keys() - done:
        out.append(f"{name}={fs_encode(replacements[name])}")
    return "&".join(out).encode("utf-8")


def basic_auth(username: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def fetch_poster(client) -> Callable:
    """post(body, node=..., secret=...): POST a body to /freeswitch through CLIENT as a demo node."""

    def post(body: bytes, node: str | None = "media-1", secret: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if node is not None:
            headers.update(basic_auth(node, secret if secret is not None else f"{node}-secret"))
        return client.post("/freeswitch", data=body, headers=headers,
                           content_type="application/x-www-form-urlencoded", **kwargs)

    return post


@pytest.fixture
def fetch(client) -> Callable:
    """POST a body to /freeswitch as a demo node (credentials `<node>` / `<node>-secret`)."""
    return fetch_poster(client)
