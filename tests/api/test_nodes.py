"""Nodes through the API: the HTTP secret is write-only and stored hashed; pinned nodes are protected."""
from __future__ import annotations

from xmlcurl import db
from xmlcurl.models import Node
from xmlcurl.secrets import NodeSecretCache

from tests.api.conftest import assert_error

NEW = {"name": "media-3", "role": "media", "sip_address": "127.0.0.13", "http_secret": "media-3-secret-long-enough",
       "allowed_sources": "127.0.0.13, 10.0.0.0/8"}


def test_create_stores_the_secret_hashed_and_never_returns_it(api, app):
    response = api.post("/nodes", json=NEW)
    assert response.status_code == 201
    body = response.get_json()
    assert "http_secret" not in body and "http_secret_hash" not in body
    assert body["http_username"] == "media-3" and body["allowed_sources"] == ["127.0.0.13/32", "10.0.0.0/8"]
    with app.app_context():
        stored = db.session().get(Node, body["id"]).http_secret_hash
    assert stored.startswith("$argon2") and NodeSecretCache().verify(stored, NEW["http_secret"])


def test_new_node_authenticates_its_fetches(api, fetch):
    api.post("/nodes", json={**NEW, "allowed_sources": ["127.0.0.0/8"]})
    from tests.conftest import make_body
    response = fetch(make_body("media-3", "directory"), node="media-3", secret=NEW["http_secret"])
    assert response.status_code == 200


def test_get_and_list_nodes(api):
    assert api.get("/nodes/1").get_json()["name"] == "router-1"
    body = api.get("/nodes?role=media&sort=-name").get_json()
    assert body["total"] == 2 and [n["name"] for n in body["items"]] == ["media-2", "media-1"]


def test_update_rotates_the_secret(api, fetch):
    from tests.conftest import make_body
    assert api.patch("/nodes/2", json={"http_secret": "rotated-secret-for-media-1"}).status_code == 200
    assert fetch(make_body("media-1", "directory")).status_code == 401
    assert fetch(make_body("media-1", "directory"), secret="rotated-secret-for-media-1").status_code == 200


def test_delete_an_unpinned_node(api):
    node_id = api.post("/nodes", json=NEW).get_json()["id"]
    assert api.delete(f"/nodes/{node_id}").status_code == 204
    assert_error(api.get(f"/nodes/{node_id}"), 404, "not_found")


def test_bad_node_fields_answer_422(api):
    assert_error(api.post("/nodes", json={**NEW, "role": "proxy", "sip_address": "300.1.1.1", "http_secret": "short",
                                          "allowed_sources": "10.0.0.0/33", "sip_port": 70000}),
                 422, "invalid", "role", "sip_address", "http_secret", "allowed_sources", "sip_port")


def test_duplicate_node_name_answers_409(api):
    body = assert_error(api.post("/nodes", json={**NEW, "name": "media-1"}), 409, "conflict", "name")
    assert body["errors"]["constraint"] == "uq_nodes_name"


def test_deleting_a_pinned_node_lists_its_tenants(api):
    body = assert_error(api.delete("/nodes/2"), 409, "in_use", "dependents")
    assert body["errors"]["dependents"]["pinned_tenants"] == {"count": 2, "ids": [1, 3]}


def test_a_pinned_media_node_cannot_become_a_router(api):
    assert_error(api.patch("/nodes/2", json={"role": "router"}), 409, "conflict", "role")


def test_missing_node_answers_404(api):
    assert_error(api.get("/nodes/999"), 404, "not_found")
    assert_error(api.delete("/nodes/999"), 404, "not_found")


def test_tenant_admins_never_see_nodes(api):
    assert_error(api.get("/nodes", as_="acme"), 404, "not_found")
    assert_error(api.get("/nodes/2", as_="acme"), 404, "not_found")
    assert_error(api.post("/nodes", as_="globex", json=NEW), 404, "not_found")
    assert_error(api.patch("/nodes/2", as_="globex", json={"enabled": False}), 404, "not_found")



def test_ipv6_node_address_is_stored_in_the_form_sofia_reports(api):
    response = api.post("/nodes", json={**NEW, "name": "media-v6", "sip_address": "2001:DB8:0::11",
                                        "allowed_sources": ""})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["sip_address"] == "2001:db8::11"
