"""The README's first-tenant walkthrough and settings table, checked against the code and the demo."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from xmlcurl import db
from xmlcurl.config import SETTINGS
from xmlcurl.models import Did, SipUser, Tenant
from xmlcurl.secrets import sip_a1_hash
from xmlcurl.services import Actor, api_tokens

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
NUMBER = "447700900123"
BODY = ("hostname=media-2&section=directory&tag_name=domain&key_name=name&key_value=umbrella.example.com"
        "&action=sip_auth&user=3000&domain=umbrella.example.com")


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.index("\n## ", start + 1)
    return README[start:end]


def _api_calls() -> list[tuple[str, str, dict]]:
    calls = re.findall(r"^api -X (POST|PATCH) \$URL(\S+) -d '(.*)'$", _section("Your first tenant"), re.MULTILINE)
    return [(method, path, json.loads(body)) for method, path, body in calls]


def _sql_statements() -> list[str]:
    block = re.search(r"```sql\n(.*?)```", _section("Your first tenant"), re.DOTALL).group(1)
    return [statement.strip() for statement in block.split(";") if statement.strip()]


def _check_umbrella(app) -> None:
    """What every way of the walkthrough must leave: a served user, its DID, the tenant's own route."""
    with app.app_context():
        session = db.session()
        tenant = session.scalar(select(Tenant).where(Tenant.code == "umbrella"))
        assert tenant.default_cid_number == "8610000100" and tenant.context == "tenant-umbrella"
        user = session.scalar(select(SipUser).where(SipUser.tenant_id == tenant.id, SipUser.username == "3000"))
        assert user.a1_hash == sip_a1_hash("3000", "umbrella.example.com", "umbrella-3000-pw")
        assert session.scalar(select(Did.user_id).where(Did.number == "8610000100")) == user.id
        session.rollback()
    runner = app.test_cli_runner()
    rendered = runner.invoke(args=["render", "--node", "media-2"], input=BODY)
    assert rendered.exit_code == 0, rendered.output
    assert b'<user id="3000">' in rendered.stdout_bytes and "result=ok" in rendered.stderr
    assert b'name="outbound_caller_id_number" value="8610000100"' in rendered.stdout_bytes
    elsewhere = runner.invoke(args=["render", "--node", "media-1"], input=BODY.replace("hostname=media-2", "hostname=media-1"))
    assert b"<result status=\"not found\"/>" in elsewhere.stdout_bytes and "not pinned to this node" in elsewhere.stderr
    routed = runner.invoke(args=["route-test", "--tenant", "umbrella", NUMBER])
    assert routed.exit_code == 0, routed.output
    assert "matched prefix '44' (the tenant's own routes; longest matching prefix wins)" in routed.output
    assert "  1. carrier-a        prefix '44' scope tenant priority 10 weight 100 sends 0447700900123" in routed.output


def test_the_walkthroughs_api_calls_work_on_the_demo_as_written(app, client, backend):
    with app.app_context():
        session = db.session()
        _, token = api_tokens.create(session, Actor.cli("pytest"), {"name": "walkthrough", "admin_user_id": 1})
        session.commit()
    calls = _api_calls()
    assert [path for _, path, _ in calls] == ["/tenants", "/pinning", "/sip-users", "/dids", "/tenants/4", "/routes"]
    # The README's ids are a fresh demo's; MariaDB's shared test database does not roll AUTO_INCREMENT
    # back, so there the ids the answers give are used instead (and checked to be the README's on SQLite).
    given = {}
    for method, path, body in calls:
        if "tenant_id" in body:
            body["tenant_id"] = given.get("tenant", body["tenant_id"])
        if "user_id" in body:
            body["user_id"] = given.get("user", body["user_id"])
        path = path.replace("/tenants/4", f"/tenants/{given.get('tenant', 4)}")
        response = client.open(f"/api/v1{path}", method=method, json=body, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code in (200, 201), (path, response.get_json())
        if path == "/tenants":
            given["tenant"] = response.get_json()["id"]
        if path == "/sip-users":
            given["user"] = response.get_json()["id"]
    if backend == "sqlite":
        assert given == {"tenant": 4, "user": 31}
    _check_umbrella(app)


def test_the_walkthroughs_sql_works_on_the_demo_as_written(app, backend):
    statements = _sql_statements()
    assert len(statements) == 6
    database = app.extensions["xmlcurl.db"]
    if backend == "sqlite":
        with database.engine.begin() as conn:
            # MySQL's MD5(); SQLite has none.
            conn.connection.driver_connection.create_function(
                "MD5", 1, lambda text: hashlib.md5(text.encode()).hexdigest(), deterministic=True)
            for statement in statements:
                conn.exec_driver_sql(statement)
    else:
        for statement in statements:
            database.test_connection.exec_driver_sql(statement)
    _check_umbrella(app)


def test_a_refused_api_value_is_described_as_the_readme_says(app, client):
    with app.app_context():
        session = db.session()
        _, token = api_tokens.create(session, Actor.cli("pytest"), {"name": "walkthrough", "admin_user_id": 1})
        session.commit()
    response = client.post("/api/v1/sip-users", json={"tenant_id": 1, "username": "3000", "password": "short"},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    shown = re.search(r'for example `(\{"errors": .*?), \.\.\.\}`', _section("Your first tenant")).group(1) + "}"
    for field, messages in json.loads(shown)["errors"].items():
        assert response.get_json()["errors"][field] == messages


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_every_setting_is_in_the_readmes_settings_table(name):
    assert re.search(rf"^\| `XMLCURL_{name}` \|", _section("Settings"), re.MULTILINE), name
