"""Gateways through the API: write-only password, the register rule, used gateways protected."""
from __future__ import annotations

from xmlcurl import db
from xmlcurl.models import Gateway

from tests.api.conftest import assert_error

NEW = {"name": "carrier-c", "proxy": "sip.carrier-c.example.net:5061", "transport": "tls",
       "source_cidrs": ["192.0.2.0/24"], "prepend": "00"}


def test_create_a_gateway(api):
    response = api.post("/gateways", json=NEW)
    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == "carrier-c" and body["source_cidrs"] == ["192.0.2.0/24"] and body["has_password"] is False


def test_get_and_list_gateways(api):
    assert api.get("/gateways/1").get_json()["name"] == "carrier-a"
    body = api.get("/gateways?q=carrier-b").get_json()
    assert body["total"] == 1 and body["items"][0]["proxy"] == "127.0.0.21:5060"


def test_registering_needs_credentials_and_the_password_is_never_shown(api, app):
    assert_error(api.patch("/gateways/1", json={"register": True}), 422, "invalid", "username", "password")
    body = api.patch("/gateways/1", json={"register": True, "username": "acct", "password": "carrier-pass"}).get_json()
    assert body["register"] is True and body["has_password"] is True and "password" not in body
    # Credentials already stored: register can be switched off and on alone.
    assert api.patch("/gateways/1", json={"register": False}).status_code == 200
    assert api.patch("/gateways/1", json={"register": True}).status_code == 200
    with app.app_context():
        assert db.session().get(Gateway, 1).password == "carrier-pass"


def test_delete_an_unused_gateway(api):
    gateway_id = api.post("/gateways", json=NEW).get_json()["id"]
    assert api.delete(f"/gateways/{gateway_id}").status_code == 204
    assert_error(api.get(f"/gateways/{gateway_id}"), 404, "not_found")


def test_bad_gateway_fields_answer_422(api):
    assert_error(api.post("/gateways", json={"name": "bad name", "proxy": "host:99999", "realm": "a..b",
                                             "username": "${x}", "source_cidrs": "nonsense", "prepend": "+1",
                                             "transport": "sctp"}),
                 422, "invalid", "name", "proxy", "realm", "username", "source_cidrs", "prepend", "transport")


def test_proxy_accepts_names_and_addresses_with_ports(api):
    for proxy in ("127.0.0.30", "sip.example.org", "[2001:db8::1]:5060", "10.1.2.3:5080"):
        assert api.post("/gateways", json={"name": f"gw-{len(proxy)}", "proxy": proxy}).status_code == 201, proxy


def test_duplicate_gateway_name_answers_409(api):
    body = assert_error(api.post("/gateways", json={**NEW, "name": "carrier-a"}), 409, "conflict", "name")
    assert body["errors"]["constraint"] == "uq_gateways_name"


def test_deleting_a_used_gateway_lists_its_routes(api):
    body = assert_error(api.delete("/gateways/2"), 409, "in_use")
    assert body["errors"]["dependents"]["routes"] == {"count": 3, "ids": [2, 3, 5]}


def test_missing_gateway_answers_404(api):
    assert_error(api.get("/gateways/999"), 404, "not_found")
    assert_error(api.patch("/gateways/999", json={"enabled": False}), 404, "not_found")


def test_tenant_admins_never_see_gateways(api):
    assert_error(api.get("/gateways", as_="acme"), 404, "not_found")
    assert_error(api.get("/gateways/1", as_="globex"), 404, "not_found")
    assert_error(api.post("/gateways", as_="acme", json=NEW), 404, "not_found")
    assert_error(api.delete("/gateways/1", as_="acme"), 404, "not_found")
