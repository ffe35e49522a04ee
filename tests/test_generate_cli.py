"""`xmlcurl generate`: never mixed with the demo's data, --reset says what it wipes, and the result has an admin."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

import xmlcurl
from tests.admin.conftest import login
from xmlcurl import db
from xmlcurl.models import AdminUser, Tenant

SMALL = ["--tenants", "4", "--users", "12", "--routes", "6", "--dids", "4", "--routers", "1", "--media", "2",
         "--gateways", "2", "--batch", "100", "--quiet"]


@pytest.fixture
def fresh_app(tmp_path):
    application = xmlcurl.create_app({"ENV": "testing", "LOG_LEVEL": "WARNING",
                                      "DATABASE_URL": f"sqlite:///{tmp_path / 'gen.sqlite3'}"})
    yield application
    application.extensions["xmlcurl.db"].dispose()


def _count(app, model) -> int:
    with app.extensions["xmlcurl.db"].engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model))


def test_generate_creates_a_superadmin_and_prints_its_password_once(fresh_app):
    result = fresh_app.test_cli_runner().invoke(args=["generate", *SMALL])
    assert result.exit_code == 0, result.output
    found = re.search(r"created superadmin 'admin' with password (\S+) \(shown only now", result.output)
    assert found, result.output
    assert login(fresh_app.test_client(), "admin", found.group(1)).status_code == 302
    assert _count(fresh_app, AdminUser) == 1


def test_generate_into_the_demo_database_is_refused_and_says_what_reset_would_wipe(app):
    result = app.test_cli_runner().invoke(args=["generate", *SMALL])
    assert result.exit_code == 1
    assert "table nodes is not empty: generate writes into an empty database only, and " in result.output
    assert "Point XMLCURL_DATABASE_URL at a database of its own" in result.output
    assert "--reset to DROP EVERY TABLE first (all data and admin logins are lost)" in result.output
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Tenant)) >= 1


def test_generate_names_the_embedded_database_make_serve_runs_on(monkeypatch, tmp_path):
    monkeypatch.delenv("XMLCURL_DATABASE_URL", raising=False)
    class InTmp(xmlcurl._Flask):
        def __init__(self, name, **kw):
            super().__init__(name, instance_path=str(tmp_path), **kw)

    monkeypatch.setattr(xmlcurl, "_Flask", InTmp)
    application = xmlcurl.create_app({"ENV": "testing", "LOG_LEVEL": "WARNING", "SEED_DEMO": True})
    try:
        result = application.test_cli_runner().invoke(args=["generate", *SMALL])
        assert result.exit_code == 1
        assert (f"and the embedded database {tmp_path / 'xmlcurl.sqlite3'} (the one `make serve` / "
                "`xmlcurl serve --demo` runs on) holds 3 tenants, 3 nodes") in result.output
    finally:
        application.extensions["xmlcurl.db"].dispose()


def test_reset_lists_what_it_wipes_and_keeps_everything_when_not_confirmed(fresh_app):
    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["init-db"]).exit_code == 0 and runner.invoke(args=["load-fixtures"]).exit_code == 0
    result = runner.invoke(args=["generate", *SMALL, "--reset"], input="n\n")
    assert result.exit_code == 1
    assert "--reset drops every xmlcurl table of" in result.output
    assert "(3 tenants, 3 nodes, 30 SIP users, 1 admin users)" in result.output and "admin logins included" in result.output
    assert "Wipe it?" in result.output
    assert _count(fresh_app, Tenant) == 3 and _count(fresh_app, AdminUser) == 1


def test_reset_with_yes_replaces_the_data_and_creates_a_new_admin(fresh_app):
    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["init-db"]).exit_code == 0 and runner.invoke(args=["load-fixtures"]).exit_code == 0
    result = runner.invoke(args=["generate", *SMALL, "--reset", "--yes"])
    assert result.exit_code == 0, result.output
    assert _count(fresh_app, Tenant) == 4
    assert login(fresh_app.test_client(), "admin", "demo-admin-password").status_code == 401
    assert "created superadmin 'admin' with password" in result.output
