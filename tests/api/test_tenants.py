"""Tenants through the API: CRUD, validation, conflicts, the SIP-domain rule, and tenant admins kept out."""
from __future__ import annotations

from tests.api.conftest import ACME, GLOBEX, assert_error

NEW = {"code": "newco", "name": "New Co", "sip_domain": "newco.example.com", "max_calls": 30}


def test_create_returns_the_tenant_with_a_default_context(api):
    response = api.post("/tenants", json=NEW)
    assert response.status_code == 201
    body = response.get_json()
    assert body["code"] == "newco" and body["context"] == "tenant-newco" and body["max_calls"] == 30
    assert response.headers["Location"].endswith(f"/tenants/{body['id']}")


def test_get_reads_one_tenant(api):
    body = api.get(f"/tenants/{ACME}").get_json()
    assert body["code"] == "acme" and body["sip_domain"] == "acme.example.com"


def test_list_pages_filters_and_sorts_with_a_total(api):
    body = api.get("/tenants?sort=-code&per_page=2").get_json()
    assert body["total"] == 3 and body["per_page"] == 2
    assert [t["code"] for t in body["items"]] == ["initech", "globex"]
    body = api.get("/tenants?q=GLOB").get_json()
    assert [t["code"] for t in body["items"]] == ["globex"]


def test_list_refuses_an_unknown_sort_or_filter(api):
    assert_error(api.get("/tenants?sort=password"), 422, "invalid", "sort")
    assert_error(api.get("/tenants?colour=red"), 422, "invalid", "colour")
    assert_error(api.get("/tenants?page=0"), 422, "invalid", "page")


def test_update_changes_only_the_given_fields(api):
    body = api.patch(f"/tenants/{ACME}", json={"max_cps": 3}).get_json()
    assert body["max_cps"] == 3 and body["max_calls"] == 100 and body["name"] == "Acme Motors"


def test_delete_removes_an_unused_tenant(api):
    tenant_id = api.post("/tenants", json=NEW).get_json()["id"]
    assert api.delete(f"/tenants/{tenant_id}").status_code == 204
    assert_error(api.get(f"/tenants/{tenant_id}"), 404, "not_found")


def test_bad_fields_answer_422_with_a_message_per_field(api):
    body = assert_error(api.post("/tenants", json={"code": "-x", "name": "a${x}", "sip_domain": "not a domain",
                                                   "max_calls": 0, "default_cid_name": "A|B"}),
                        422, "invalid", "code", "name", "sip_domain", "max_calls", "default_cid_name")
    assert any("$" in message for message in body["errors"]["name"])


def test_unknown_fields_and_non_objects_are_refused(api):
    assert_error(api.post("/tenants", json={**NEW, "colour": "red"}), 422, "invalid", "colour")
    assert_error(api.post("/tenants", json=[NEW]), 422, "invalid")
    assert_error(api.post("/tenants", data="code=x", content_type="application/x-www-form-urlencoded"), 422, "invalid")


def test_a_duplicate_code_or_domain_answers_409_naming_the_constraint(api):
    body = assert_error(api.post("/tenants", json={**NEW, "code": "acme"}), 409, "conflict", "code")
    assert body["errors"]["constraint"] == "uq_tenants_code"
    body = assert_error(api.post("/tenants", json={**NEW, "sip_domain": "ACME.example.com"}), 409, "conflict")
    assert body["errors"]["constraint"] == "uq_tenants_sip_domain"


def test_deleting_a_tenant_with_users_lists_its_dependents(api):
    body = assert_error(api.delete(f"/tenants/{ACME}"), 409, "in_use", "dependents")
    dependents = body["errors"]["dependents"]
    assert dependents["sip_users"]["count"] == 10 and dependents["sip_users"]["ids"][:2] == [1, 2]
    assert dependents["dids"]["count"] == 1
    assert "10 sip_users" in body["message"]


def test_missing_tenant_answers_404(api):
    assert_error(api.get("/tenants/9999"), 404, "not_found")
    assert_error(api.patch("/tenants/9999", json={"name": "x"}), 404, "not_found")
    assert_error(api.delete("/tenants/9999"), 404, "not_found")


def test_changing_the_sip_domain_asks_for_new_passwords(api):
    body = assert_error(api.patch(f"/tenants/{ACME}", json={"sip_domain": "new.acme.example.com"}),
                        422, "invalid", "sip_domain")
    assert "requires new passwords for its 10 users" in body["message"]
    assert api.get(f"/tenants/{ACME}").get_json()["sip_domain"] == "acme.example.com"


def test_a_confirmed_domain_change_disables_the_users_until_new_passwords(api):
    response = api.patch(f"/tenants/{ACME}", json={"sip_domain": "new.acme.example.com", "confirm_new_domain": True})
    assert response.status_code == 200
    user = api.get("/sip-users/1").get_json()
    assert user["enabled"] is False and user["has_password"] is False
    assert_error(api.patch("/sip-users/1", json={"enabled": True}), 422, "invalid", "password")
    user = api.patch("/sip-users/1", json={"enabled": True, "password": "fresh-password"}).get_json()
    assert user["enabled"] is True and user["has_password"] is True


def test_tenant_admins_see_no_tenants(api):
    assert_error(api.get("/tenants", as_="acme"), 404, "not_found")
    assert_error(api.get(f"/tenants/{ACME}", as_="acme"), 404, "not_found")
    assert_error(api.patch(f"/tenants/{GLOBEX}", as_="acme", json={"name": "x"}), 404, "not_found")
    assert_error(api.post("/tenants", as_="globex", json=NEW), 404, "not_found")
    assert_error(api.delete(f"/tenants/{GLOBEX}", as_="acme"), 404, "not_found")
