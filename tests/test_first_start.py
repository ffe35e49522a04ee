"""First start: an empty database gets the tables and nothing else, once, however many workers start.

The demo data (whose credentials the README publishes) is loaded only when asked for.
"""
from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, make_url, select, text

import xmlcurl
from tests.admin.conftest import login
from tests.conftest import MYSQL_URL, mysql_server_engine
from tests.mariadb_server import free_port
from xmlcurl import bootstrap, db
from xmlcurl.models import AdminUser, Node, Tenant

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s" * 48
FETCH = {"hostname": "media-1", "section": "directory", "tag_name": "domain", "key_name": "name",
         "key_value": "acme.example.com", "user": "1000", "domain": "acme.example.com", "action": "sip_auth"}


def _basic(username: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()}


def _count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_production_start_without_a_database_url_has_no_demo_credentials(monkeypatch, tmp_path):
    # `gunicorn wsgi:app` with nothing but a secret key: the embedded SQLite file in the instance folder.
    for name in [n for n in os.environ if n.startswith("XMLCURL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XMLCURL_SECRET_KEY", SECRET)
    app_class = xmlcurl._Flask
    monkeypatch.setattr(xmlcurl, "_Flask", lambda name, **kw: app_class(name, instance_path=str(tmp_path), **kw))
    lines = _Lines()
    logging.getLogger("xmlcurl.bootstrap").addHandler(lines)
    try:
        app = xmlcurl.create_app()
    finally:
        logging.getLogger("xmlcurl.bootstrap").removeHandler(lines)
    try:
        assert app.config["XMLCURL"]["ENV"] == "production"
        engine = app.extensions["xmlcurl.db"].engine
        assert db.has_schema(engine)
        assert [_count(engine, model) for model in (AdminUser, Node, Tenant)] == [0, 0, 0]
        client = app.test_client()
        assert login(client, "admin", "demo-admin-password").status_code == 401
        fetch = client.post("/freeswitch", data=FETCH, headers=_basic("media-1", "media-1-secret"))
        assert fetch.status_code == 401
        assert any("xmlcurl create-admin" in line for line in lines.lines)
    finally:
        app.extensions["xmlcurl.db"].dispose()


def test_demo_is_loaded_only_when_asked_and_only_into_an_empty_database(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}", {})
    try:
        assert bootstrap.prepare(engine) == bootstrap.Outcome(created=True, seeded=False)
        assert _count(engine, AdminUser) == 0
        assert bootstrap.prepare(engine, demo=True) == bootstrap.Outcome(created=False, seeded=True)
        assert _count(engine, AdminUser) == 1 and _count(engine, Node) == 3
        # A database that holds data is never mixed with the demo (nor loaded twice).
        assert bootstrap.prepare(engine, demo=True) == bootstrap.Outcome(created=False, seeded=False)
        assert _count(engine, Node) == 3
    finally:
        engine.dispose()


def test_a_half_created_schema_is_reported_not_added_to(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}", {})
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE audit_log (id INTEGER PRIMARY KEY)")
        with pytest.raises(bootstrap.SchemaError, match="audit_log"):
            bootstrap.prepare(engine)
        assert not db.has_schema(engine)
    finally:
        engine.dispose()


def test_dev_server_demo_flag_loads_the_demo_and_its_documented_login_works(tmp_path):
    from xmlcurl.cli.serve import dev_server

    app = xmlcurl.create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    try:
        with app.app_context():
            # run_simple is the only thing not exercised: the database is prepared before it.
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr("werkzeug.serving.run_simple", lambda *a, **kw: None)
                dev_server.callback.__wrapped__(host="127.0.0.1", port=0, demo=True)
        assert login(app.test_client(), "admin", "demo-admin-password").status_code == 302
    finally:
        app.extensions["xmlcurl.db"].dispose()


# --- gunicorn -w 4 on an empty database --------------------------------------------------------

def _start_gunicorn(tmp_path: Path, database_url: str, workers: int = 4):
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("XMLCURL_")},
           "XMLCURL_SECRET_KEY": SECRET, "XMLCURL_DATABASE_URL": database_url, "XMLCURL_LOG_LEVEL": "INFO"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                                    "--timeout", "120", "wsgi:app"], cwd=ROOT, env=env,
                                   stdout=log_file, stderr=subprocess.STDOUT)
    return process, port, log_path


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in found.stdout.split()]


def _assert_all_workers_boot_and_answer(tmp_path: Path, database_url: str) -> str:
    process, port, log_path = _start_gunicorn(tmp_path, database_url)
    try:
        deadline = time.monotonic() + 120
        status = None
        while status != 200:
            assert process.poll() is None, "gunicorn exited:\n" + log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "no ready answer:\n" + log_path.read_text(errors="replace")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
                    status = response.status
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        # Every worker has loaded the app (the tables existed or it waited for them), none died.
        while log_path.read_text(errors="replace").count("Booting worker") < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
        log = log_path.read_text(errors="replace")
        assert process.poll() is None, log
        assert "Worker failed to boot" not in log and "Exception in worker process" not in log, log
        assert len(_children(process.pid)) == 4, log
        # Created once, and nothing but the tables.
        assert log.count("created the xmlcurl tables on an empty database") == 1, log
        return log
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_gunicorn_with_four_workers_starts_on_a_fresh_sqlite_file(tmp_path):
    _assert_all_workers_boot_and_answer(tmp_path, f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    engine = create_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    try:
        assert _count(engine, AdminUser) == 0 and _count(engine, Node) == 0
    finally:
        engine.dispose()


@pytest.mark.mysql
def test_gunicorn_with_four_workers_starts_on_a_fresh_mariadb_database(tmp_path):
    url = make_url(MYSQL_URL)
    url = url.set(database=f"{url.database}_first").render_as_string(hide_password=False)
    engine = mysql_server_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW TABLES")).first() is None
        _assert_all_workers_boot_and_answer(tmp_path, url)
        assert db.has_schema(engine)
        assert _count(engine, AdminUser) == 0 and _count(engine, Node) == 0
    finally:
        engine.dispose()
