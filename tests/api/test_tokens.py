"""Token authentication and API tokens: bearer only, revoked tokens refused, last use throttled."""
from __future__ import annotations

import datetime as dt

from xmlcurl import db
from xmlcurl.models import ApiToken
from xmlcurl.services.api_tokens import hash_token

from tests.api.conftest import assert_error


def test_requests_without_a_valid_bearer_token_answer_401(api):
    assert_error(api.get("/tenants", as_=None), 401, "unauthorized")
    response = api.get("/tenants", as_=None, headers={"Authorization": "Bearer xc_not-a-token"})
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(api.get("/tenants", as_=None, headers={"Authorization": "Basic YWRtaW46eA=="}), 401, "unauthorized")


def test_a_revoked_token_answers_401(api):
    assert api.get("/sip-users", as_="acme").status_code == 200
    body = api.delete(f"/tokens/{api.token_ids['acme']}").get_json()
    assert body["revoked_at"] is not None
    assert_error(api.get("/sip-users", as_="acme"), 401, "unauthorized")


def test_a_disabled_users_token_answers_401(api):
    acme_id = api.get("/admin-users?q=acme").get_json()["items"][0]["id"]
    api.patch(f"/admin-users/{acme_id}", json={"enabled": False})
    assert_error(api.get("/sip-users", as_="acme"), 401, "unauthorized")


def test_create_shows_the_token_once_and_stores_its_sha256(api, app):
    response = api.post("/tokens", json={"name": "deploy script"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["token"].startswith("xc_") and body["admin_user_id"] == 1
    with app.app_context():
        assert db.session().get(ApiToken, body["id"]).token_hash == hash_token(body["token"])
    shown = api.get(f"/tokens/{body['id']}").get_json()
    assert "token" not in shown and "token_hash" not in shown
    assert api.get("/tenants", as_=None, headers={"Authorization": f"Bearer {body['token']}"}).status_code == 200


def test_last_use_is_written_at_most_once_a_minute(api, app):
    token_id = api.token_ids["globex"]

    def last_used():
        with app.app_context():
            return db.session().get(ApiToken, token_id).last_used_at

    api.get("/dids", as_="globex")
    first = last_used()
    assert first is not None
    with app.app_context():
        session = db.session()
        session.get(ApiToken, token_id).last_used_at = first - dt.timedelta(seconds=30)
        session.commit()
    api.get("/dids", as_="globex")
    assert last_used() == first - dt.timedelta(seconds=30)  # less than a minute ago: not written
    with app.app_context():
        session = db.session()
        session.get(ApiToken, token_id).last_used_at = first - dt.timedelta(seconds=61)
        session.commit()
    api.get("/dids", as_="globex")
    assert last_used() >= first


def test_tenant_admins_manage_only_their_own_tokens(api):
    body = api.get("/tokens", as_="acme").get_json()
    assert [t["id"] for t in body["items"]] == [api.token_ids["acme"]]
    created = api.post("/tokens", as_="acme", json={"name": "mine"}).get_json()
    assert created["admin_user_id"] == body["items"][0]["admin_user_id"]
    assert_error(api.post("/tokens", as_="acme", json={"name": "for admin", "admin_user_id": 1}), 404, "not_found")
    assert_error(api.get(f"/tokens/{api.token_ids['globex']}", as_="acme"), 404, "not_found")
    assert_error(api.delete(f"/tokens/{api.token_ids['super']}", as_="globex"), 404, "not_found")


def test_bad_token_fields_answer_422(api):
    assert_error(api.post("/tokens", json={"name": ""}), 422, "invalid", "name")
    assert_error(api.post("/tokens", json={"name": "x", "admin_user_id": 999}), 422, "invalid", "admin_user_id")
    assert_error(api.get("/tokens?revoked=maybe"), 422, "invalid", "revoked")


def test_listing_revoked_tokens(api):
    api.delete(f"/tokens/{api.token_ids['acme']}")
    assert [t["id"] for t in api.get("/tokens?revoked=true").get_json()["items"]] == [api.token_ids["acme"]]
    assert api.token_ids["acme"] not in [t["id"] for t in api.get("/tokens?revoked=false").get_json()["items"]]


def test_unknown_api_paths_answer_json_404(api):
    assert_error(api.get("/nothing-here"), 404, "not_found")
    assert_error(api.get("/tokens/999"), 404, "not_found")


def test_a_wrong_method_answers_json_405(api):
    response = api.request("PUT", "/tenants/1", json={})
    body = assert_error(response, 405, "method_not_allowed", "allowed")
    assert set(body["errors"]["allowed"]) == {"GET", "PATCH", "DELETE"}
    assert_error(api.request("DELETE", "/tenants"), 405, "method_not_allowed")


def test_a_new_api_tokens_answer_is_no_store(api):
    response = api.post("/tokens", json={"name": "script"})
    assert response.status_code == 201 and response.get_json()["token"]
    assert response.headers["Cache-Control"] == "no-store"
