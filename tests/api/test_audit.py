"""The audit log through the API: every change recorded with its actor and source, secrets masked."""
from __future__ import annotations

from tests.api.conftest import ACME, assert_error


def test_every_change_is_audited_with_masked_secrets(api):
    user = api.post("/sip-users", json={"tenant_id": ACME, "username": "3000", "password": "robot-password"}).get_json()
    api.patch(f"/sip-users/{user['id']}", json={"password": "other-password"})
    api.delete(f"/sip-users/{user['id']}")
    entries = api.get(f"/audit?entity=sip_user&entity_id={user['id']}").get_json()["items"]
    assert [e["action"] for e in entries] == ["delete", "update", "create"]
    create = entries[2]
    assert create["actor"] == "admin" and create["source"] == "api" and create["tenant_id"] == ACME
    assert create["after"]["a1_hash"] == "***" and create["after"]["username"] == "3000"
    assert entries[0]["before"]["username"] == "3000" and entries[0]["after"] is None


def test_node_secrets_and_gateway_passwords_never_reach_the_log(api):
    api.post("/nodes", json={"name": "media-9", "role": "media", "sip_address": "127.0.0.19",
                             "http_secret": "the-node-secret-value"})
    api.patch("/gateways/1", json={"register": True, "username": "u", "password": "gateway-password"})
    body = api.get("/audit").get_data(as_text=True)
    assert "the-node-secret-value" not in body and "gateway-password" not in body and "$argon2" not in body


def test_failed_changes_leave_no_audit_entry(api):
    before = api.get("/audit").get_json()["total"]
    api.post("/tenants", json={"code": "acme", "name": "x", "sip_domain": "x.example.com"})
    api.delete(f"/tenants/{ACME}")
    assert api.get("/audit").get_json()["total"] == before


def test_audit_filters(api):
    api.patch("/gateways/2", json={"enabled": False})
    entries = api.get("/audit?source=api&action=update&entity=gateway").get_json()["items"]
    assert [e["entity_id"] for e in entries] == ["2"]
    assert_error(api.get("/audit?since=yesterday"), 422, "invalid", "since")


def test_tenant_admins_see_only_their_tenants_entries(api):
    api.patch("/sip-users/1", as_="acme", json={"cid_name": "Desk"})
    api.patch("/sip-users/11", as_="globex", json={"cid_name": "Desk"})
    entries = api.get("/audit?entity=sip_user", as_="acme").get_json()["items"]
    assert [(e["entity_id"], e["actor"]) for e in entries] == [("1", "acme-admin")]
