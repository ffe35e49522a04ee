"""Pinning through the API: only media nodes, one row per tenant and node, superadmins only."""
from __future__ import annotations

from tests.api.conftest import ACME, GLOBEX, assert_error


def test_pin_a_tenant_to_a_media_node(api):
    response = api.post("/pinning", json={"tenant_id": ACME, "node_id": 3, "weight": 50})
    assert response.status_code == 201
    assert response.get_json() == {"tenant_id": ACME, "node_id": 3, "weight": 50, "tenant_code": "acme",
                                   "node_name": "media-2"}
    assert response.headers["Location"].endswith(f"/pinning/{ACME}/3")


def test_get_and_list_pinnings(api):
    assert api.get(f"/pinning/{GLOBEX}/3").get_json()["weight"] == 100
    body = api.get("/pinning?tenant_id=3").get_json()
    assert body["total"] == 2 and [(p["node_id"], p["weight"]) for p in body["items"]] == [(2, 100), (3, 50)]


def test_update_the_weight(api):
    assert api.patch("/pinning/3/3", json={"weight": 150}).get_json()["weight"] == 150
    assert_error(api.patch("/pinning/3/3", json={"node_id": 2}), 422, "invalid", "node_id")


def test_unpin(api):
    assert api.delete("/pinning/3/3").status_code == 204
    assert_error(api.get("/pinning/3/3"), 404, "not_found")


def test_routers_cannot_be_pinned(api):
    body = assert_error(api.post("/pinning", json={"tenant_id": ACME, "node_id": 1}), 422, "invalid", "node_id")
    assert "only media nodes" in body["errors"]["node_id"][0]
    assert_error(api.post("/pinning", json={"tenant_id": ACME, "node_id": 3, "weight": -1}), 422, "invalid", "weight")
    assert_error(api.post("/pinning", json={"tenant_id": 999, "node_id": 3}), 422, "invalid", "tenant_id")


def test_pinning_twice_answers_409(api):
    body = assert_error(api.post("/pinning", json={"tenant_id": ACME, "node_id": 2}), 409, "conflict")
    assert body["errors"]["constraint"] == "pk_tenant_nodes"


def test_missing_pinning_answers_404(api):
    assert_error(api.get(f"/pinning/{ACME}/3"), 404, "not_found")
    assert_error(api.delete(f"/pinning/{ACME}/3"), 404, "not_found")


def test_tenant_admins_see_no_pinning(api):
    assert_error(api.get("/pinning", as_="acme"), 404, "not_found")
    assert_error(api.get(f"/pinning/{ACME}/2", as_="acme"), 404, "not_found")
    assert_error(api.post("/pinning", as_="acme", json={"tenant_id": ACME, "node_id": 3}), 404, "not_found")
