"""Routes through the API: per tenant or for all tenants, unique per (tenant, prefix, gateway)."""
from __future__ import annotations

from tests.api.conftest import GLOBEX, assert_error


def test_create_a_route_for_all_tenants_and_one_for_a_tenant(api):
    body = api.post("/routes", json={"prefix": "44", "gateway_id": 1, "priority": 5}).get_json()
    assert body["tenant_id"] is None and body["prefix"] == "44" and body["weight"] == 100
    response = api.post("/routes", json={"tenant_id": GLOBEX, "prefix": "44", "gateway_id": 1})
    assert response.status_code == 201


def test_get_and_list_routes(api):
    assert api.get("/routes/5").get_json() | {"created_at": None, "updated_at": None} == {
        "id": 5, "tenant_id": GLOBEX, "prefix": "1", "gateway_id": 2, "priority": 10, "weight": 100, "enabled": True,
        "created_at": None, "updated_at": None}
    body = api.get("/routes?tenant_id=all&prefix=86&sort=priority").get_json()
    assert [(r["gateway_id"], r["priority"]) for r in body["items"]] == [(2, 10), (1, 20)]
    assert api.get(f"/routes?tenant_id={GLOBEX}").get_json()["total"] == 1


def test_update_and_delete_a_route(api):
    assert api.patch("/routes/4", json={"priority": 30, "weight": 0}).get_json()["priority"] == 30
    assert api.delete("/routes/4").status_code == 204
    assert_error(api.get("/routes/4"), 404, "not_found")


def test_bad_route_fields_answer_422(api):
    assert_error(api.post("/routes", json={"prefix": "+44", "gateway_id": 1, "weight": -1, "priority": "x"}),
                 422, "invalid", "prefix", "weight", "priority")
    assert_error(api.post("/routes", json={"prefix": "1" * 33, "gateway_id": 1}), 422, "invalid", "prefix")
    assert_error(api.post("/routes", json={"prefix": "44", "gateway_id": 99}), 422, "invalid", "gateway_id")
    assert_error(api.post("/routes", json={"prefix": "44", "gateway_id": 1, "tenant_id": 99}), 422, "invalid", "tenant_id")


def test_a_duplicate_route_answers_409_also_for_all_tenants(api):
    body = assert_error(api.post("/routes", json={"prefix": "86", "gateway_id": 2}), 409, "conflict", "prefix")
    assert body["errors"]["constraint"] == "uq_routes_tenant_scope_prefix_gateway_id"
    assert_error(api.patch("/routes/4", json={"gateway_id": 2}), 409, "conflict")


def test_missing_route_answers_404(api):
    assert_error(api.get("/routes/999"), 404, "not_found")
    assert_error(api.delete("/routes/999"), 404, "not_found")


def test_tenant_admins_never_see_routes_even_their_own(api):
    assert_error(api.get("/routes", as_="globex"), 404, "not_found")
    assert_error(api.get("/routes/5", as_="globex"), 404, "not_found")
    assert_error(api.post("/routes", as_="globex", json={"prefix": "1", "gateway_id": 1}), 404, "not_found")
