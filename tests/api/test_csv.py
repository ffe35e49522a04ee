"""CSV import and export through the API: all rows or none, a report of rejected rows."""
from __future__ import annotations

import io

from tests.api.conftest import ACME, assert_error

USERS = ("tenant,username,password,kind,cid_number\n"
         "acme,5000,password-5000,robot,8657100000000\n"
         "globex,5001,password-5001,agent,\n")


def test_import_users_creates_every_row(api):
    response = api.post("/sip-users/import", data=USERS, content_type="text/csv")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"entity": "sip_users", "rows": 2, "created": 2, "updated": 0,
                                   "applied": True, "rejected": []}
    assert api.get("/sip-users?username=5000").get_json()["items"][0]["kind"] == "robot"


def test_a_bad_row_rejects_the_whole_file_with_line_numbers(api):
    bad = USERS + "acme,1000,password-x,agent,\nnowhere,5002,pw,robot,+1\n"
    body = assert_error(api.post("/sip-users/import", data=bad, content_type="text/csv"), 422, "invalid", "rejected")
    rejected = {row["line"]: row["errors"] for row in body["errors"]["rejected"]}
    assert set(rejected) == {4, 5}
    assert "username" in rejected[4] and {"tenant", "password", "cid_number"} <= set(rejected[5])
    assert api.get("/sip-users?username=5000").get_json()["total"] == 0


def test_upload_as_a_multipart_file(api):
    data = {"file": (io.BytesIO(USERS.encode()), "users.csv")}
    assert api.post("/sip-users/import", data=data, content_type="multipart/form-data").get_json()["created"] == 2


def test_a_bad_header_is_refused(api):
    assert_error(api.post("/sip-users/import", data="tenant,user,password\n", content_type="text/csv"),
                 422, "invalid", "header")


def test_tenant_admins_import_only_into_their_tenant(api):
    body = api.post("/sip-users/import", as_="acme", data="username,password\n6000,password-6000\n",
                    content_type="text/csv").get_json()
    assert body["created"] == 1
    assert api.get("/sip-users?username=6000", as_="acme").get_json()["items"][0]["tenant_id"] == ACME
    body = assert_error(api.post("/sip-users/import", as_="acme", data=USERS, content_type="text/csv"), 422, "invalid")
    rejected = body["errors"]["rejected"]
    assert [(r["line"], r["errors"]) for r in rejected] == [(3, {"tenant": ["no such tenant"]})]
    assert rejected[0]["values"]["tenant"] == "globex" and rejected[0]["values"]["password"] == "***"


def test_import_dids_and_routes(api):
    dids = "number,tenant,username\n8610000100,acme,1001\n8610000101,globex,1001\n"
    assert api.post("/dids/import", data=dids, content_type="text/csv").get_json()["created"] == 2
    assert api.get("/dids?exact_number=8610000101").get_json()["items"][0]["user_id"] == 12
    routes = "tenant,prefix,gateway,priority,weight\n,49,carrier-a,10,100\nacme,49,carrier-b,5,\n"
    assert api.post("/routes/import", data=routes, content_type="text/csv").get_json()["created"] == 2
    assert api.get("/routes?prefix=49").get_json()["total"] == 2
    body = assert_error(api.post("/routes/import", data="tenant,prefix,gateway\n,86,carrier-a\n,x,nowhere\n",
                                 content_type="text/csv"), 422, "invalid")
    assert [row["line"] for row in body["errors"]["rejected"]] == [2, 3]


def test_export_writes_the_import_columns(api):
    text = api.get("/sip-users/export", as_="globex").get_data(as_text=True)
    lines = text.splitlines()
    assert lines[0] == "tenant,username,kind,cid_name,cid_number,outbound_cid_name,outbound_cid_number,enabled"
    assert len(lines) == 11 and all(line.startswith("globex,") for line in lines[1:])
    assert api.get("/dids/export").get_data(as_text=True).splitlines()[1] == "8610000001,acme,1000,true"
    routes = api.get("/routes/export").get_data(as_text=True).splitlines()
    assert routes[0] == "tenant,prefix,gateway,priority,weight,enabled" and ",,carrier-a,10,100,true" in routes
    assert_error(api.get("/routes/export", as_="acme"), 404, "not_found")


def test_exported_dids_import_again_elsewhere(api):
    exported = api.get(f"/dids/export?tenant_id={ACME}").get_data(as_text=True)
    api.delete("/dids/1")
    assert api.post("/dids/import", data=exported, content_type="text/csv").get_json()["created"] == 1


def test_new_passwords_for_every_user_after_a_domain_change(api, app):
    from xmlcurl import db
    from xmlcurl.models import SipUser
    from xmlcurl.secrets import sip_a1_hash
    api.patch("/tenants/2", json={"sip_domain": "new.globex.example.com", "confirm_new_domain": True})
    exported = api.get("/sip-users/export?tenant_id=2").get_data(as_text=True).splitlines()
    header = exported[0].replace(",enabled", ",enabled,password")
    rows = [line.replace(",false", ",true") + f",new-pw-{line.split(',')[1]}" for line in exported[1:]]
    text = "\n".join([header, *rows]) + "\n"
    assert_error(api.post("/sip-users/import", data=text, content_type="text/csv"), 422, "invalid", "rejected")
    body = api.post("/sip-users/import?existing=update", data=text, content_type="text/csv").get_json()
    assert body["updated"] == 10 and body["created"] == 0 and body["applied"] is True
    with app.app_context():
        user = db.session().get(SipUser, 11)
        assert user.enabled and user.a1_hash == sip_a1_hash("1000", "new.globex.example.com", "new-pw-1000")
    # The import is one audit entry listing its rows, each with its state before and after.
    entry = api.get("/audit?entity=sip_user&action=import").get_json()["items"][0]
    row = next(r for r in entry["after"]["rows"] if str(r["id"]) == "11")
    assert row["action"] == "update" and row["name"] == "SIP user 1000@new.globex.example.com"
    assert row["before"]["enabled"] is False and row["after"]["enabled"] is True and row["after"]["a1_hash"] == "***"
    assert_error(api.post("/dids/import?existing=update", data="number,tenant,username\n", content_type="text/csv"),
                 422, "invalid", "existing")
