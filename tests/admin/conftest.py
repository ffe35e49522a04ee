"""Admin page fixtures: signed-in test clients (the demo superadmin, an acme tenant admin) and the CSRF token."""
from __future__ import annotations

import re

import pytest

from xmlcurl import db
from xmlcurl.services import Actor, admin_users

SUPER = ("admin", "demo-admin-password")
ACME_ADMIN = ("acme-admin", "acme-password-123")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/admin/login") -> str:
    """The CSRF token of the form on `path` (one per session)."""
    response = client.get(path)
    match = _TOKEN.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({response.status_code})"
    return match.group(1)


def login(client, username: str, password: str, **kwargs):
    token = csrf_token(client)
    return client.post("/admin/login", data={"username": username, "password": password, "csrf_token": token},
                       **kwargs)


def post(client, path: str, data: dict | None = None, **kwargs):
    """POST a form with the session's CSRF token, as the browser does."""
    form = dict(data or {})
    form.setdefault("csrf_token", csrf_token(client, "/admin/"))
    return client.post(path, data=form, **kwargs)


def make_tenant_admin(app, username: str, password: str, tenant_id: int) -> None:
    with app.app_context():
        session = db.session()
        admin_users.create(session, Actor.cli("pytest"), {"username": username, "password": password,
                                                            "role": "tenant_admin", "tenant_id": tenant_id})
        session.commit()


@pytest.fixture
def superadmin(app):
    client = app.test_client()
    assert login(client, *SUPER).status_code == 302
    return client


@pytest.fixture
def acme_admin(app):
    make_tenant_admin(app, *ACME_ADMIN, tenant_id=1)
    client = app.test_client()
    assert login(client, *ACME_ADMIN).status_code == 302
    return client
