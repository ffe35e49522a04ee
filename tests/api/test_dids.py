"""DIDs through the API: a DID rings a user of its own tenant; tenant admins manage their own."""
from __future__ import annotations

from tests.api.conftest import ACME, GLOBEX, assert_error


def test_create_a_did(api):
    response = api.post("/dids", json={"number": "8610000099", "tenant_id": ACME, "user_id": 2})
    assert response.status_code == 201
    assert response.get_json()["number"] == "8610000099" and response.get_json()["enabled"] is True


def test_created_did_routes_inbound_calls(api, fetch):
    api.post("/dids", json={"number": "8610000099", "tenant_id": ACME, "user_id": 2})
    from tests.conftest import cluster_body, retarget
    body = retarget(cluster_body("router-1_dialplan_from-carrier_did"), **{"Caller-Destination-Number": "8610000099",
                                                                           "Hunt-Destination-Number": "8610000099"})
    answer = fetch(body, node="router-1").get_data(as_text=True)
    assert "8610000099" in answer and "not found" not in answer


def test_get_and_list_dids(api):
    assert api.get("/dids/2").get_json()["user_id"] == 11
    assert [d["number"] for d in api.get("/dids?number=861000000&sort=-number").get_json()["items"]] == [
        "8610000003", "8610000002", "8610000001"]


def test_update_and_delete_a_did(api):
    assert api.patch("/dids/1", json={"user_id": 3, "enabled": False}).get_json()["user_id"] == 3
    assert api.delete("/dids/1").status_code == 204
    assert_error(api.get("/dids/1"), 404, "not_found")


def test_bad_did_fields_answer_422(api):
    assert_error(api.post("/dids", json={"number": "12", "tenant_id": ACME, "user_id": 1}), 422, "invalid", "number")
    assert_error(api.post("/dids", json={"number": "+8610", "tenant_id": ACME, "user_id": 1}), 422, "invalid", "number")
    body = assert_error(api.post("/dids", json={"number": "8610000099", "tenant_id": ACME, "user_id": 11}),
                        422, "invalid", "user_id")
    assert body["errors"]["user_id"] == ["no such user in this tenant"]


def test_a_taken_number_answers_409(api):
    body = assert_error(api.post("/dids", json={"number": "8610000002", "tenant_id": ACME, "user_id": 1}),
                        409, "conflict", "number")
    assert body["errors"]["constraint"] == "uq_dids_number"


def test_missing_did_answers_404(api):
    assert_error(api.get("/dids/999"), 404, "not_found")
    assert_error(api.delete("/dids/999"), 404, "not_found")


def test_tenant_admins_manage_only_their_own_dids(api):
    assert [d["number"] for d in api.get("/dids", as_="acme").get_json()["items"]] == ["8610000001"]
    assert api.post("/dids", as_="acme", json={"number": "8610000099", "user_id": 2}).status_code == 201
    assert_error(api.get("/dids/2", as_="acme"), 404, "not_found")
    assert_error(api.patch("/dids/2", as_="acme", json={"enabled": False}), 404, "not_found")
    assert_error(api.delete("/dids/1", as_="globex"), 404, "not_found")
    # Another tenant's user, or moving a DID to another tenant, is out of reach.
    assert_error(api.post("/dids", as_="acme", json={"number": "8610000098", "user_id": 11}), 422, "invalid", "user_id")
    assert_error(api.post("/dids", as_="acme", json={"number": "8610000098", "tenant_id": GLOBEX, "user_id": 11}),
                 404, "not_found")
    assert_error(api.patch("/dids/1", as_="acme", json={"tenant_id": GLOBEX, "user_id": 11}), 404, "not_found")
