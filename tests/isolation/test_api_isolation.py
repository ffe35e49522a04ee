"""Every JSON API route, as a tenant admin, against every row of other tenants: nothing read, nothing changed.

The routes are read from the API's own list (xmlcurl.api.views.OPERATIONS), so a route added later is
covered, or fails here until its rows are named in FOREIGN.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import MetaData, select, text

from tests.api.conftest import ACME, GLOBEX, make_token_holders
from xmlcurl import db
from xmlcurl.api.views import OPERATIONS

#: For each route prefix: the keys of rows that are not the acme admin's (`:me` is its admin user id).
FOREIGN = {
    "/tenants": "SELECT id FROM tenants WHERE id <> 1",
    "/nodes": "SELECT id FROM nodes",
    "/sip-users": "SELECT id FROM sip_users WHERE tenant_id <> 1",
    "/gateways": "SELECT id FROM gateways",
    "/routes": "SELECT id FROM routes WHERE tenant_id IS NULL OR tenant_id <> 1",
    "/dids": "SELECT id FROM dids WHERE tenant_id <> 1",
    "/admin-users": "SELECT id FROM admin_users WHERE id <> :me",
    "/tokens": "SELECT id FROM api_tokens WHERE admin_user_id <> :me",
    "/pinning": "SELECT tenant_id, node_id FROM tenant_nodes WHERE tenant_id <> 1",
    "/caller-ids": "SELECT id FROM approved_caller_ids WHERE tenant_id <> 1",
    # The monitor's snapshot (read-only; tests/api/test_cluster.py checks the scoping with a polled cluster).
    "/cluster": "SELECT id FROM cluster_registrations WHERE tenant_id IS NULL OR tenant_id <> 1",
}
#: A create aimed at another tenant (or at shared data), per collection.
CREATE = {
    "/tenants": {"code": "intruder", "name": "Intruder", "sip_domain": "intruder.example.com"},
    "/nodes": {"name": "media-9", "role": "media", "sip_address": "127.0.0.19", "http_secret": "x" * 32},
    "/sip-users": {"tenant_id": GLOBEX, "username": "3999", "password": "password-3999"},
    "/gateways": {"name": "carrier-z", "proxy": "127.0.0.29:5060"},
    "/routes": {"tenant_id": GLOBEX, "prefix": "99", "gateway_id": 1},
    "/dids": {"tenant_id": GLOBEX, "number": "8610009999", "user_id": 11},
    "/admin-users": {"username": "globex-2", "password": "password-123456", "role": "tenant_admin", "tenant_id": GLOBEX},
    "/tokens": {"name": "stolen", "admin_user_id": None},  # filled with the globex admin's id
    "/pinning": {"tenant_id": GLOBEX, "node_id": 2, "weight": 10},
    "/caller-ids": {"tenant_id": GLOBEX, "number": "8657100000000"},
}
IMPORT = {
    "/sip-users/import": "tenant,username,password\nglobex,3998,password-3998\n",
    "/dids/import": "number,tenant,username\n8610009998,globex,1001\n",
    "/routes/import": "tenant,prefix,gateway\nglobex,98,carrier-a\n,97,carrier-a\n",
}
PATCH = {"/tenants": {"name": "Taken"}, "/nodes": {"enabled": False}, "/sip-users": {"enabled": False},
         "/gateways": {"enabled": False}, "/routes": {"enabled": False}, "/dids": {"enabled": False},
         "/admin-users": {"enabled": False}, "/pinning": {"weight": 1}, "/tokens": {},
         "/caller-ids": {"number": "8657100000000"}}
OTHER_TENANTS = ("globex", "initech")
#: Columns a read may touch (token use times, login times): not "changes" to another tenant's rows.
VOLATILE = {"last_used_at", "last_login_at"}

def operation_id(op) -> str:
    return f"{op.method} {op.path}"


def collection(path: str) -> str:
    return "/" + path.strip("/").split("/")[0]


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every table but the audit log, without the columns reads may touch."""
    with app.app_context():
        session = db.session()
        meta = MetaData()
        meta.reflect(bind=session.connection())
        out = {}
        for table in meta.sorted_tables:
            if table.name == "audit_log":
                continue
            columns = [c for c in table.columns if c.name not in VOLATILE]
            out[table.name] = sorted(tuple(map(str, row)) for row in session.execute(select(*columns)).all())
        session.rollback()
        return out


def foreign_keys(app, path: str, me: int) -> list[tuple]:
    with app.app_context():
        session = db.session()
        rows = session.execute(text(FOREIGN[collection(path)]), {"me": me}).all()
        session.rollback()
    return [tuple(row) for row in rows]


def fill(rule: str, key: tuple) -> str:
    values = iter(key)
    return re.sub(r"<int:[a-z_]+>", lambda _m: str(next(values)), rule)


def admin_id(app, username: str) -> int:
    with app.app_context():
        session = db.session()
        ident = session.execute(text("SELECT id FROM admin_users WHERE username = :u"), {"u": username}).scalar_one()
        session.rollback()
    return ident


def assert_nothing_foreign(body, me: int) -> None:
    """A list answer holds only acme's rows (or the acme admin's own tokens)."""
    for item in body["items"]:
        if "tenant_id" in item and item.get("tenant_id") is not None:
            assert item["tenant_id"] == ACME, item
        elif "admin_user_id" in item:
            assert item["admin_user_id"] == me, item
        else:
            pytest.fail(f"a tenant admin was shown a row of no tenant: {item}")


@pytest.mark.parametrize("op", OPERATIONS, ids=operation_id)
def test_a_tenant_admin_never_reads_or_changes_another_tenants_rows(app, op):
    api = make_token_holders(app)
    me = admin_id(app, "acme-admin")
    before = snapshot(app)
    path = op.path
    assert collection(path) in FOREIGN or path == "/audit" or path == "/openapi.json", \
        f"API route {path} is not covered: name its rows in FOREIGN"
    if "<" in path:
        keys = foreign_keys(app, path, me)
        assert keys, f"no rows of other tenants to try on {path}"
        for key in keys:
            response = api.request(op.method, fill(path, key), as_="acme",
                                   json=PATCH.get(collection(path)) if op.method == "PATCH" else None)
            assert response.status_code in (403, 404), (op.method, fill(path, key), response.get_json())
    elif op.method == "GET":
        for query in ("", f"?tenant_id={GLOBEX}", "?tenant_id=3", "?q=globex"):
            response = api.get(path + query, as_="acme")
            if response.status_code != 200:
                assert response.status_code in (403, 404, 422), (path + query, response.status_code)
                continue
            if response.mimetype == "text/csv":
                assert not any(code in response.get_data(as_text=True) for code in OTHER_TENANTS), path + query
            elif "items" in response.get_json():
                assert_nothing_foreign(response.get_json(), me)
    elif path.endswith("/import"):
        response = api.post(path, as_="acme", data=IMPORT[path], content_type="text/csv")
        assert response.status_code in (403, 404, 422), (path, response.get_json())
    else:
        payload = dict(CREATE[collection(path)])
        if collection(path) == "/tokens":
            payload["admin_user_id"] = admin_id(app, "globex-admin")
        response = api.post(path, as_="acme", json=payload)
        assert response.status_code in (403, 404, 422), (path, response.get_json())
    assert snapshot(app) == before


def test_a_tenant_admin_cannot_move_its_own_rows_to_another_tenant(app):
    api = make_token_holders(app)
    before = snapshot(app)
    attempts = [("/sip-users/1", {"tenant_id": GLOBEX}), ("/dids/1", {"tenant_id": GLOBEX, "user_id": 11}),
                ("/dids/1", {"user_id": 11}), ("/admin-users/" + str(admin_id(app, "acme-admin")), {"tenant_id": GLOBEX}),
                ("/admin-users/" + str(admin_id(app, "acme-admin")), {"role": "superadmin"})]
    for path, payload in attempts:
        response = api.patch(path, as_="acme", json=payload)
        assert response.status_code in (403, 404, 422), (path, payload, response.get_json())
    assert snapshot(app) == before
