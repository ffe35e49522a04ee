"""SIP users through the API: plaintext password in, a1-hash stored; variables; tenant isolation."""
from __future__ import annotations

from xmlcurl import db
from xmlcurl.models import SipUser
from xmlcurl.secrets import sip_a1_hash

from tests.api.conftest import ACME, GLOBEX, assert_error

NEW = {"tenant_id": ACME, "username": "3000", "password": "robot-password", "kind": "robot",
       "cid_number": "8657100000000", "cid_name": "Robot 3000", "variables": [{"name": "x_campaign", "value": "spring"}]}


def stored_hash(app, user_id: int) -> str:
    with app.app_context():
        return db.session().get(SipUser, user_id).a1_hash


def test_create_stores_only_the_a1_hash(api, app):
    response = api.post("/sip-users", json=NEW)
    assert response.status_code == 201
    body = response.get_json()
    assert "password" not in body and "a1_hash" not in body and body["has_password"] is True
    assert body["variables"] == [{"name": "x_campaign", "value": "spring"}]
    assert stored_hash(app, body["id"]) == sip_a1_hash("3000", "acme.example.com", "robot-password")


def test_created_user_is_served_to_its_node(api, fetch):
    from tests.conftest import make_body
    api.post("/sip-users", json=NEW)
    answer = fetch(make_body("media-1", "directory", "domain", "name", "acme.example.com", user="3000",
                             domain="acme.example.com", action="sip_auth")).get_data(as_text=True)
    assert sip_a1_hash("3000", "acme.example.com", "robot-password") in answer and "x_campaign" in answer


def test_get_and_list_users(api):
    assert api.get("/sip-users/11").get_json()["username"] == "1000"
    body = api.get(f"/sip-users?tenant_id={ACME}&kind=robot&sort=-username&per_page=2&page=2").get_json()
    assert body["total"] == 5 and [u["username"] for u in body["items"]] == ["2002", "2001"]


def test_update_password_kind_and_variables(api, app):
    body = api.patch("/sip-users/2", json={"password": "new-password-1", "kind": "robot",
                                           "variables": [{"name": "x_a", "value": "1"}, {"name": "toll_allow", "value": "2"}]}).get_json()
    assert body["kind"] == "robot" and [v["name"] for v in body["variables"]] == ["toll_allow", "x_a"]
    assert stored_hash(app, 2) == sip_a1_hash("1001", "acme.example.com", "new-password-1")
    body = api.patch("/sip-users/2", json={"variables": [{"name": "toll_allow", "value": "3"}]}).get_json()
    assert body["variables"] == [{"name": "toll_allow", "value": "3"}]


def test_a_new_username_needs_the_password_again(api, app):
    assert_error(api.patch("/sip-users/2", json={"username": "1999"}), 422, "invalid", "password")
    api.patch("/sip-users/2", json={"username": "1999", "password": "renamed-pass"})
    assert stored_hash(app, 2) == sip_a1_hash("1999", "acme.example.com", "renamed-pass")


def test_delete_a_user_without_dids(api):
    assert api.delete("/sip-users/2").status_code == 204
    assert_error(api.get("/sip-users/2"), 404, "not_found")


def test_bad_user_fields_answer_422(api):
    body = assert_error(api.post("/sip-users", json={
        "tenant_id": ACME, "username": "a b", "password": "short", "kind": "bot", "cid_number": "+1",
        "cid_name": "x,y", "outbound_cid_name": "${api}",
        "variables": [{"name": "user_context", "value": "x"}, {"name": "1bad", "value": "y"}, {"name": "ok", "value": "${x}"}],
    }), 422, "invalid", "username", "password", "kind", "cid_number", "cid_name", "outbound_cid_name", "variables")
    assert set(body["errors"]["variables"]) == {"0", "1", "2"}
    assert_error(api.post("/sip-users", json={**NEW, "variables": [{"name": "x_a", "value": "1"}, {"name": "X_A", "value": "2"}]}),
                 422, "invalid", "variables")
    assert_error(api.post("/sip-users", json={**NEW, "tenant_id": None}), 422, "invalid")
    no_tenant = {key: value for key, value in NEW.items() if key != "tenant_id"}
    assert_error(api.post("/sip-users", json=no_tenant), 422, "invalid", "tenant_id")


def test_a_taken_username_answers_409(api):
    body = assert_error(api.post("/sip-users", json={**NEW, "username": "1000"}), 409, "conflict", "username")
    assert body["errors"]["constraint"] == "uq_sip_users_tenant_id_username"
    # The same username in another tenant is fine.
    assert api.post("/sip-users", json={**NEW, "tenant_id": GLOBEX, "username": "3000", "cid_number": "15550100000"}).status_code == 201


def test_deleting_a_user_a_did_rings_lists_the_did(api):
    body = assert_error(api.delete("/sip-users/1"), 409, "in_use")
    assert body["errors"]["dependents"]["dids"] == {"count": 1, "ids": [1]}


def test_missing_user_answers_404(api):
    assert_error(api.get("/sip-users/9999"), 404, "not_found")
    assert_error(api.patch("/sip-users/9999", json={"kind": "agent"}), 404, "not_found")


def test_a_tenant_admin_manages_its_own_users(api):
    body = api.get("/sip-users", as_="acme").get_json()
    assert body["total"] == 10 and {u["tenant_id"] for u in body["items"]} == {ACME}
    no_tenant = {key: value for key, value in NEW.items() if key != "tenant_id"}
    created = api.post("/sip-users", as_="acme", json=no_tenant)
    assert created.status_code == 201 and created.get_json()["tenant_id"] == ACME
    assert api.patch("/sip-users/1", as_="acme", json={"cid_name": "Front desk"}).status_code == 200


def test_tenant_admins_cannot_reach_each_others_users(api):
    assert_error(api.get("/sip-users/11", as_="acme"), 404, "not_found")
    assert_error(api.patch("/sip-users/11", as_="acme", json={"enabled": False}), 404, "not_found")
    assert_error(api.delete("/sip-users/11", as_="acme"), 404, "not_found")
    assert_error(api.get("/sip-users/1", as_="globex"), 404, "not_found")
    assert_error(api.post("/sip-users", as_="globex", json=NEW), 404, "not_found")
    assert api.get(f"/sip-users?tenant_id={ACME}", as_="globex").get_json()["total"] == 0
    assert_error(api.patch("/sip-users/11", as_="globex", json={"tenant_id": ACME}), 422, "invalid", "tenant_id")


def test_caller_names_that_look_like_spreadsheet_formulas_are_refused(api):
    for name in ("=HYPERLINK(1)", "+1", "-x", "@SUM(1)"):
        assert_error(api.patch("/sip-users/1", json={"cid_name": name}), 422, "invalid", "cid_name")
    assert api.patch("/sip-users/1", json={"cid_name": "Sales - Desk 1"}).status_code == 200


def test_variables_that_could_run_commands_or_override_xmlcurls_are_refused(api):
    for name in ("api_hangup_hook", "execute_on_answer", "USER_CONTEXT", "Tenant", "hold_music"):
        body = assert_error(api.post("/sip-users", json={**NEW, "variables": [{"name": name, "value": "system id"}]}),
                            422, "invalid", "variables")
        message = body["errors"]["variables"]["0"]["name"][0]
        assert ("set by xmlcurl itself" in message) if name.lower() in {"user_context", "tenant"} else (
            "must start with 'x_'" in message and "toll_allow" in message), (name, message)
    assert_error(api.patch("/sip-users/2", json={"variables": [{"name": "api_hangup_hook", "value": "system id"}]}),
                 422, "invalid", "variables")


def test_a_dotted_username_is_accepted_and_a_trailing_newline_is_not(api):
    assert api.post("/sip-users", json={**NEW, "username": "john.doe"}).status_code == 201
    assert_error(api.post("/sip-users", json={**NEW, "username": "john\n"}), 422, "invalid", "username")


def test_a_dotted_username_made_through_the_api_can_be_dialled(api, fetch):
    from tests.fetch.test_dialplan_media import answer, bridge_of, media_call
    assert api.post("/sip-users", json={**NEW, "username": "john.doe"}).status_code == 201
    got = answer(fetch, media_call("acme", "john.doe"))
    assert (got.extension, got.expression) == ("user", r"^john\.doe$")
    assert bridge_of(got) == "[leg_timeout=30]user/john.doe@acme.example.com"


def test_caller_ids_that_would_break_out_of_the_from_header_answer_422_with_the_rule(api):
    for name in ('x" <sip:boss@evil.test>;', "Boss\\", "<sip:a@b>", "Boss\r\nVia: x", "X-PRE-PROCESS"):
        for field in ("cid_name", "outbound_cid_name"):
            body = assert_error(api.patch("/sip-users/2", as_="acme", json={field: name}), 422, "invalid", field)
            assert "From header" in body["errors"][field][0] or "served" in body["errors"][field][0]
    for number in ("8657100000000\n", "+8657100000000", "86571 00000000"):
        assert_error(api.patch("/sip-users/2", as_="acme", json={"cid_number": number}), 422, "invalid", "cid_number")
    # Names of real people and desks stay accepted.
    assert api.patch("/sip-users/2", as_="acme", json={"cid_name": "Zoë O'Brien-Smith"}).status_code == 200


def test_csv_import_applies_the_same_caller_id_rules(api):
    text = 'tenant,username,password,cid_name\nacme,5000,password-5000,"x"" <sip:boss@evil.test>;"\n'
    body = assert_error(api.post("/sip-users/import", data=text, content_type="text/csv"), 422, "invalid")
    assert "cid_name" in body["errors"]["rejected"][0]["errors"]
