"""Approved caller IDs: a tenant's users present only its DIDs and the numbers the operator approved for it."""
from __future__ import annotations

from tests.api.conftest import ACME, GLOBEX, assert_error


def test_a_number_not_approved_for_the_tenant_is_refused_with_the_reason(api):
    # globex's DID: another tenant's number.
    for field in ("cid_number", "outbound_cid_number"):
        body = assert_error(api.patch("/sip-users/2", as_="acme", json={field: "8610000002"}), 422, "invalid", field)
        assert "is not approved for this tenant" in body["errors"][field][0]
    body = assert_error(api.post("/sip-users", as_="acme", json={
        "username": "3000", "password": "password-3000", "outbound_cid_number": "8657100009999"}),
        422, "invalid", "outbound_cid_number")
    assert "ask a superadmin" in body["errors"]["outbound_cid_number"][0]


def test_the_tenants_dids_and_approved_numbers_are_accepted(api):
    assert api.patch("/sip-users/2", as_="acme", json={"outbound_cid_number": "8610000001"}).status_code == 200
    assert api.patch("/sip-users/2", as_="acme", json={"cid_number": "8657100000000"}).status_code == 200
    made = api.post("/caller-ids", json={"tenant_id": ACME, "number": "8657100009999", "note": "ticket 7"})
    assert made.status_code == 201, made.get_json()
    assert api.patch("/sip-users/2", as_="acme", json={"outbound_cid_number": "8657100009999"}).status_code == 200
    audit = api.get("/audit?entity=approved_caller_id").get_json()["items"]
    assert audit[0]["action"] == "create" and audit[0]["after"]["number"] == "8657100009999"


def test_only_a_superadmin_approves_numbers_and_a_tenant_admin_sees_its_own(api):
    assert_error(api.post("/caller-ids", as_="acme", json={"tenant_id": ACME, "number": "8657100009999"}),
                 404, "not_found")
    own = api.get("/caller-ids", as_="acme").get_json()["items"]
    assert [(c["tenant_id"], c["number"]) for c in own] == [(ACME, "8657100000000")]
    assert_error(api.post("/caller-ids", json={"tenant_id": GLOBEX, "number": "15550100000"}), 409, "conflict", "number")
    assert_error(api.post("/caller-ids", json={"tenant_id": GLOBEX, "number": "+1555\n"}), 422, "invalid", "number")


def test_a_tenants_default_caller_id_must_be_approved_too(api):
    body = assert_error(api.patch(f"/tenants/{ACME}", json={"default_cid_number": "15550100000"}), 422, "invalid",
                        "default_cid_number")
    assert "is not approved for this tenant" in body["errors"]["default_cid_number"][0]
    assert api.patch(f"/tenants/{ACME}", json={"default_cid_number": "8610000001"}).status_code == 200
    assert_error(api.post("/tenants", json={"code": "umbrella", "name": "Umbrella", "sip_domain": "umbrella.example.com",
                                            "default_cid_number": "8657100000000"}), 422, "invalid", "default_cid_number")


def test_a_tenant_with_approved_numbers_is_deleted_only_after_them(api):
    tenant = api.post("/tenants", json={"code": "umbrella", "name": "Umbrella", "sip_domain": "umbrella.example.com"})
    ident = tenant.get_json()["id"]
    approval = api.post("/caller-ids", json={"tenant_id": ident, "number": "4420799999"}).get_json()
    body = assert_error(api.delete(f"/tenants/{ident}"), 409, "in_use")
    assert "caller_ids" in body["errors"]["dependents"]
    assert api.delete(f"/caller-ids/{approval['id']}").status_code == 204
    assert api.delete(f"/tenants/{ident}").status_code == 204


def test_csv_import_refuses_numbers_the_tenant_may_not_present(api):
    text = "tenant,username,password,outbound_cid_number\nacme,5000,password-5000,8610000002\n"
    body = assert_error(api.post("/sip-users/import", data=text, content_type="text/csv"), 422, "invalid")
    assert "is not approved for this tenant" in body["errors"]["rejected"][0]["errors"]["outbound_cid_number"][0]
