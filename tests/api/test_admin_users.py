"""Admin users through the API: password hashed, role/tenant rules, the last superadmin kept."""
from __future__ import annotations

from xmlcurl import db, secrets
from xmlcurl.models import AdminUser

from tests.api.conftest import ACME, assert_error

NEW = {"username": "ops", "password": "a-long-admin-password", "role": "superadmin"}


def test_create_hashes_the_password_and_never_returns_it(api, app):
    response = api.post("/admin-users", json=NEW)
    assert response.status_code == 201
    body = response.get_json()
    assert "password" not in body and "password_hash" not in body and body["tenant_id"] is None
    with app.app_context():
        stored = db.session().get(AdminUser, body["id"]).password_hash
    assert stored != NEW["password"] and secrets.verify_admin_password(stored, NEW["password"])


def test_get_and_list_admin_users(api):
    assert api.get("/admin-users/1").get_json()["username"] == "admin"
    body = api.get("/admin-users?role=tenant_admin&sort=username").get_json()
    assert [u["username"] for u in body["items"]] == ["acme-admin", "globex-admin"]


def test_update_role_and_password(api, app):
    user_id = api.post("/admin-users", json=NEW).get_json()["id"]
    body = api.patch(f"/admin-users/{user_id}", json={"role": "tenant_admin", "tenant_id": ACME,
                                                      "password": "another-long-password"}).get_json()
    assert body["role"] == "tenant_admin" and body["tenant_id"] == ACME
    with app.app_context():
        stored = db.session().get(AdminUser, user_id).password_hash
    assert secrets.verify_admin_password(stored, "another-long-password")
    # Back to superadmin: the tenant goes with the old role.
    assert api.patch(f"/admin-users/{user_id}", json={"role": "superadmin"}).get_json()["tenant_id"] is None


def test_delete_an_admin_user_revokes_its_tokens(api):
    acme_id = api.get("/admin-users?q=acme").get_json()["items"][0]["id"]
    assert api.delete(f"/admin-users/{acme_id}").status_code == 204
    assert_error(api.get("/sip-users", as_="acme"), 401, "unauthorized")


def test_bad_admin_user_fields_answer_422(api):
    assert_error(api.post("/admin-users", json={"username": "a b", "password": "short", "role": "root"}),
                 422, "invalid", "username", "password", "role")
    assert_error(api.post("/admin-users", json={**NEW, "role": "tenant_admin"}), 422, "invalid", "tenant_id")
    assert_error(api.post("/admin-users", json={**NEW, "tenant_id": ACME}), 422, "invalid", "tenant_id")


def test_duplicate_username_answers_409(api):
    body = assert_error(api.post("/admin-users", json={**NEW, "username": "admin"}), 409, "conflict", "username")
    assert body["errors"]["constraint"] == "uq_admin_users_username"


def test_the_last_superadmin_cannot_be_demoted_disabled_or_deleted(api):
    assert_error(api.patch("/admin-users/1", json={"enabled": False}), 409, "conflict")
    assert_error(api.patch("/admin-users/1", json={"role": "tenant_admin", "tenant_id": ACME}), 409, "conflict")
    other = api.post("/admin-users", json=NEW).get_json()["id"]
    assert_error(api.delete("/admin-users/1"), 403, "forbidden")  # oneself
    assert api.delete(f"/admin-users/{other}").status_code == 204


def test_missing_admin_user_answers_404(api):
    assert_error(api.get("/admin-users/999"), 404, "not_found")
    assert_error(api.delete("/admin-users/999"), 404, "not_found")


def test_tenant_admins_never_see_admin_users(api):
    assert_error(api.get("/admin-users", as_="acme"), 404, "not_found")
    assert_error(api.get("/admin-users/1", as_="acme"), 404, "not_found")
    assert_error(api.post("/admin-users", as_="acme", json=NEW), 404, "not_found")
