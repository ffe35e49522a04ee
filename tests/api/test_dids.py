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
    # The user and enabled of its own DIDs, yes.
    assert api.patch("/dids/1", as_="acme", json={"user_id": 2}).get_json()["user_id"] == 2
    assert api.patch("/dids/1", as_="acme", json={"user_id": None}).get_json()["user_id"] is None
    assert_error(api.get("/dids/2", as_="acme"), 404, "not_found")
    assert_error(api.patch("/dids/2", as_="acme", json={"enabled": False}), 404, "not_found")
    assert_error(api.delete("/dids/1", as_="globex"), 404, "not_found")
    # Another tenant's user, or moving a DID to another tenant, is out of reach.
    assert_error(api.patch("/dids/1", as_="acme", json={"user_id": 11}), 422, "invalid", "user_id")
    assert_error(api.patch("/dids/1", as_="acme", json={"tenant_id": GLOBEX, "user_id": 11}), 422, "invalid", "tenant_id")

# --- ownership: the operator assigns numbers, a tenant admin points its own at its users --------------

def test_a_tenant_admin_cannot_create_a_did_and_learns_nothing_about_other_numbers(api):
    free = api.post("/dids", as_="acme", json={"number": "8610000099", "user_id": 2})
    taken = api.post("/dids", as_="acme", json={"number": "8610000002", "user_id": 2})
    assert free.status_code == taken.status_code == 403
    assert free.get_json() == taken.get_json()
    assert api.get("/dids?exact_number=8610000099").get_json()["total"] == 0


def test_a_tenant_admin_cannot_change_a_dids_number_or_take_it_out_of_its_stock(api):
    for number in ("8610000099", "8610000002"):  # free, and another tenant's: the same answer
        body = assert_error(api.patch("/dids/1", as_="acme", json={"number": number}), 422, "invalid", "number")
        assert "operator" in body["errors"]["number"][0]
    assert_error(api.delete("/dids/1", as_="acme"), 403, "forbidden")
    assert api.get("/dids/1").get_json()["number"] == "8610000001"


def test_a_superadmin_assigns_a_range_to_a_tenant_and_its_admin_points_one_at_a_user(api, fetch):
    response = api.post("/dids/assign", json={"tenant_id": ACME, "first": "8610000100", "last": "8610000199"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["created"] == 100
    own = api.get("/dids?number=86100001&per_page=500", as_="acme").get_json()
    assert own["total"] == 100 and all(d["user_id"] is None and d["tenant_id"] == ACME for d in own["items"])
    assert api.get("/audit?entity=did&action=create&per_page=500").get_json()["total"] >= 100
    from tests.conftest import cluster_body, retarget
    body = retarget(cluster_body("router-1_dialplan_from-carrier_did"), **{"Caller-Destination-Number": "8610000150",
                                                                           "Hunt-Destination-Number": "8610000150"})
    # In the stock but ringing nobody: the routers do not route it.
    assert "8610000150" not in fetch(body, node="router-1").get_data(as_text=True)
    ident = next(d["id"] for d in own["items"] if d["number"] == "8610000150")
    assert api.patch(f"/dids/{ident}", as_="acme", json={"user_id": 2}).status_code == 200
    assert "8610000150" in fetch(body, node="router-1").get_data(as_text=True)


def test_a_range_holding_a_taken_number_assigns_nothing(api):
    body = assert_error(api.post("/dids/assign", json={"tenant_id": ACME, "first": "8610000000", "last": "8610000009"}),
                        409, "conflict", "first")
    assert body["errors"]["taken"] == ["8610000001", "8610000002", "8610000003"]
    assert api.get("/dids?exact_number=8610000004").get_json()["total"] == 0


def test_bad_ranges_answer_422_and_tenant_admins_cannot_assign(api):
    for first, last in (("8610000100", "861000019"), ("8610000199", "8610000100"), ("8610000000", "8610099999")):
        assert_error(api.post("/dids/assign", json={"tenant_id": ACME, "first": first, "last": last}), 422, "invalid",
                     "last")
    assert_error(api.post("/dids/assign", json={"tenant_id": 999, "first": "100", "last": "101"}), 422, "invalid",
                 "tenant_id")
    assert_error(api.post("/dids/assign", as_="acme", json={"tenant_id": ACME, "first": "100", "last": "101"}),
                 404, "not_found")


def test_csv_assigns_ranges_for_a_superadmin_and_sets_destinations_for_a_tenant_admin(api):
    report = api.post("/dids/import", data="number,tenant,username\n8610000200-8610000209,acme,\n8610000300,acme,1001\n",
                      content_type="text/csv").get_json()
    assert report["created"] == 11 and report["applied"], report
    report = api.post("/dids/import", as_="acme", data="number,username\n8610000205,1002\n",
                      content_type="text/csv").get_json()
    assert report["updated"] == 1 and report["applied"], report
    assert api.get("/dids?exact_number=8610000205").get_json()["items"][0]["user_id"] == 3
    # Outside its stock: the same refusal for a number another tenant holds and for a free one.
    body = assert_error(api.post("/dids/import", as_="acme", data="number,username\n8610000002,1002\n8610000999,1002\n",
                                 content_type="text/csv"), 422, "invalid")
    first, second = (row["errors"] for row in body["errors"]["rejected"])
    assert first == second == {"number": ["not one of this tenant's DIDs (the operator assigns numbers to tenants)"]}
