"""The admin organised around the tenant: workspace, switcher, bulk work, ranges, deleting a tenant with
everything, lists, validation wording, CSV and the audit log's names (Flask test client)."""
from __future__ import annotations

import io
import json
import re

from sqlalchemy import func, select

from xmlcurl import secrets
from xmlcurl.models import AuditEntry, Did, Route, SipUser, Tenant

from .conftest import post


def text(response) -> str:
    return response.get_data(as_text=True)


def audit_count(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(AuditEntry))


# --- the workspace -----------------------------------------------------------------------------

def test_tenant_workspace_shows_settings_users_dids_caller_ids_routes_and_prefilled_tools(app, superadmin):
    app.config["XMLCURL"]["SIP_PROXY_ADDRESS"] = "sip.example.net"
    page = text(superadmin.get("/admin/tenant/1"))
    assert "Tenant acme" in page and "acme.example.com" in page and "sip.example.net" in page
    assert "5060/udp" in page and "Most concurrent calls" in page and ">100<" in page
    assert "SIP users (10)" in page and "DIDs (" in page and "8610000001" in page and "8657100000000" in page
    # The routes that apply: the all-tenant ones, not globex's own route for 1.
    routes = page[page.index('id="routes"'):page.index("Media nodes serving")]
    assert routes.count("<td>all tenants</td>") == 4 and "/admin/routes/5" not in routes
    assert "Media nodes serving acme" in page and "acme on the cluster now" in page
    # Preview and route test links carry the tenant, the user and its media node.
    assert "/admin/preview?mode=directory&amp;domain=acme.example.com&amp;user=1000&amp;node=media-1" in page
    assert "/admin/route-test?tenant=acme&amp;number=1000&amp;media_node=media-1" in page
    assert 'name="tenant" value="acme"' in page


def test_preview_and_route_test_answer_a_prefilled_link(superadmin):
    preview = text(superadmin.get("/admin/preview?mode=directory&domain=acme.example.com&user=1000&node=media-1"
                                  "&action=sip_auth&show=1"))
    assert 'value="acme.example.com"' in preview and "a1-hash" in preview
    tested = text(superadmin.get("/admin/route-test?tenant=acme&number=8613800138000"))
    assert "Tenant acme, number 8613800138000" in tested


def test_tenant_admin_sees_its_workspace_with_what_a_phone_needs_and_nothing_else(app, acme_admin):
    app.config["XMLCURL"]["SIP_PROXY_ADDRESS"] = "sip.example.net"
    home = acme_admin.get("/admin/my-tenant")
    assert home.status_code == 302 and home.headers["Location"].endswith("/admin/tenant/1")
    page = text(acme_admin.get("/admin/tenant/1"))
    assert "acme.example.com" in page and "sip.example.net" in page and "8610000001" in page
    assert "Most calls per second" in page
    assert "globex" not in page and "carrier-" not in page and "/admin/preview" not in page
    assert 'id="switch-tenant"' not in page
    assert acme_admin.get("/admin/tenant/2").status_code == 404
    assert post(acme_admin, "/admin/switch-tenant", {"tenant_id": "2"}).status_code == 404


def test_edit_pages_show_the_rows_tenant_and_domain(superadmin):
    page = text(superadmin.get("/admin/sip-users/11"))
    assert "Tenant <a" in page and "globex</strong>" in page and "1000@globex.example.com" in page
    assert "DID" in text(superadmin.get("/admin/dids/1")) and "acme.example.com" in text(superadmin.get("/admin/dids/1"))


# --- the switcher ------------------------------------------------------------------------------

def test_tenant_switcher_filters_every_list_until_changed(superadmin):
    response = post(superadmin, "/admin/switch-tenant", {"tenant_id": "2", "next": "/admin/sip-users/?tenant_id=1&page=2"})
    assert response.headers["Location"] == "/admin/sip-users/"
    users = text(superadmin.get("/admin/sip-users/?per_page=100"))
    assert "10 rows" in users and "/admin/sip-users/11\"" in users and "/admin/sip-users/1\"" not in users
    dids = text(superadmin.get("/admin/dids/"))
    assert "8610000001" not in dids
    routes = text(superadmin.get("/admin/routes/"))
    assert "/admin/routes/5\"" in routes and "/admin/routes/1\"" in routes  # its own and all tenants'
    everyone = text(superadmin.get("/admin/sip-users/?tenant_id=&per_page=100"))
    assert "30 rows" in everyone
    # From a workspace the switcher opens the chosen tenant's.
    assert post(superadmin, "/admin/switch-tenant", {"tenant_id": "3", "next": "/admin/tenant/2"}).headers["Location"] \
        == "/admin/tenant/3"
    assert post(superadmin, "/admin/switch-tenant", {"tenant_id": "", "next": "https://evil.example/"}).headers["Location"] \
        == "/admin/"
    assert "30 rows" in text(superadmin.get("/admin/sip-users/?per_page=100"))


# --- bulk work ---------------------------------------------------------------------------------

def test_bulk_disable_is_one_transaction_and_one_audit_entry_naming_the_rows(superadmin, session):
    before = audit_count(session)
    response = post(superadmin, "/admin/sip-users/bulk", {"action": "disable", "ids": ["1", "2", "3"]},
                    follow_redirects=True)
    assert "Disabled 3 SIP users." in text(response)
    session.rollback()
    assert [u.enabled for u in session.scalars(select(SipUser).where(SipUser.id.in_([1, 2, 3])))] == [False] * 3
    assert audit_count(session) == before + 1
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.action == "bulk disable" and entry.entity == "sip_user" and entry.tenant_id == 1
    names = [row["name"] for row in json.loads(entry.after_json)["rows"]]
    assert names == ["SIP user 1000@acme.example.com", "SIP user 1001@acme.example.com", "SIP user 1002@acme.example.com"]
    audit_page = text(superadmin.get("/admin/audit/"))
    assert "3 SIP users" in audit_page and "update SIP user 1001@acme.example.com" in audit_page


def test_bulk_delete_asks_first_and_refuses_all_when_one_row_is_in_use(superadmin, session):
    confirm = text(post(superadmin, "/admin/sip-users/bulk", {"action": "delete", "ids": ["4", "5"]}))
    assert "Delete 2 SIP users?" in confirm and "SIP user 1003" in confirm
    done = post(superadmin, "/admin/sip-users/bulk", {"action": "delete", "ids": ["4", "5"], "confirmed": "yes"},
                follow_redirects=True)
    assert "Deleted 2 SIP users." in text(done)
    # User 1000 is rung by a DID: nothing of the selection goes.
    refused = post(superadmin, "/admin/sip-users/bulk", {"action": "delete", "ids": ["6", "1"], "confirmed": "yes"},
                   follow_redirects=True)
    assert "SIP user 1000@acme.example.com: " in text(refused) and "nothing was changed" in text(refused)
    session.rollback()
    assert session.get(SipUser, 6) is not None and session.get(SipUser, 4) is None


def test_bulk_actions_need_the_csrf_token_and_stay_in_a_tenant_admins_tenant(acme_admin, session):
    assert acme_admin.post("/admin/sip-users/bulk", data={"action": "disable", "ids": ["1"]}).status_code == 400
    assert post(acme_admin, "/admin/sip-users/bulk", {"action": "disable", "ids": ["1", "11"]}).status_code == 404
    assert post(acme_admin, "/admin/sip-users/bulk", {"action": "delete", "ids": ["11"]}).status_code == 404
    assert post(acme_admin, "/admin/routes/bulk", {"action": "disable", "ids": ["1"]}).status_code == 404
    session.rollback()
    assert session.get(SipUser, 1).enabled and session.get(SipUser, 11).enabled


def test_a_sip_user_without_a_password_gets_one_generated_and_shown_once(superadmin, session):
    response = post(superadmin, "/admin/sip-users/new", {"tenant_id": "1", "username": "3000", "kind": "agent",
                                                         "enabled": "true", "another": "1"})
    page = text(response)
    password = re.search(r'id="generated-password" readonly value="([^"]+)"', page).group(1)
    assert len(password) >= 16 and "3000@acme.example.com" in page and "Add another SIP user" in page
    session.rollback()
    user = session.scalars(select(SipUser).where(SipUser.username == "3000")).one()
    assert user.a1_hash == secrets.sip_a1_hash("3000", "acme.example.com", password)
    assert password not in text(superadmin.get("/admin/sip-users/"))  # never again


def test_save_and_add_another_comes_back_to_an_empty_form_in_the_same_tenant(superadmin):
    response = post(superadmin, "/admin/sip-users/new", {"tenant_id": "2", "username": "3001", "password": "long-password-1",
                                                         "kind": "agent", "enabled": "true", "another": "1"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/sip-users/new?tenant_id=2"
    form = text(superadmin.get(response.headers["Location"]))
    assert "Created SIP user 3001." in form and '<option value="2" selected>' in form


def test_a_range_of_users_is_created_at_once_with_passwords_shown_once(superadmin, session):
    before = audit_count(session)
    page = text(post(superadmin, "/admin/sip-users/range", {"tenant_id": "3", "first": "5000", "last": "5019",
                                                            "kind": "robot", "password_rule": "generate",
                                                            "enabled": "true"}))
    assert "Created 20 SIP users in initech: 5000 to 5019." in page
    rows = re.findall(r"<td>(50\d\d)@initech.example.com</td><td><code>([^<]+)</code>", page)
    assert len(rows) == 20 and len({password for _, password in rows}) == 20
    session.rollback()
    user = session.scalars(select(SipUser).where(SipUser.username == "5007")).one()
    assert user.kind == "robot" and user.a1_hash == secrets.sip_a1_hash("5007", "initech.example.com", dict(rows)["5007"])
    assert audit_count(session) == before + 1
    csv_text = re.search(r'name="csv" value="([^"]+)"', page).group(1).replace("&#13;", "\r").replace("&#10;", "\n")
    download = post(superadmin, "/admin/sip-users/range/credentials.csv", {"csv": csv_text})
    assert download.mimetype == "text/csv" and f"5007,initech.example.com,{dict(rows)['5007']}" in text(download)


def test_a_range_overlapping_existing_users_creates_none_and_names_them(superadmin, session):
    page = text(post(superadmin, "/admin/sip-users/range", {"tenant_id": "1", "first": "1990", "last": "2001",
                                                            "password_rule": "generate", "kind": "robot"}))
    assert "2 of 12 users cannot be created" in page and "2000:" in page and "none was created" in page
    session.rollback()
    assert session.scalars(select(SipUser).where(SipUser.username == "1990")).first() is None
    bad = text(post(superadmin, "/admin/sip-users/range", {"tenant_id": "1", "first": "3000", "last": "30a"}))
    assert "must be digits only" in bad


def test_a_tenant_admins_range_goes_to_its_own_tenant(acme_admin, session):
    page = text(post(acme_admin, "/admin/sip-users/range", {"tenant_id": "2", "first": "7000", "last": "7001",
                                                            "password_rule": "same", "password": "same-password-1"}))
    assert "Created 2 SIP users in acme" in page
    session.rollback()
    assert {u.tenant_id for u in session.scalars(select(SipUser).where(SipUser.username.in_(["7000", "7001"])))} == {1}


def test_deleting_a_tenant_with_everything_lists_what_goes_and_needs_its_code(superadmin, session):
    page = text(superadmin.get("/admin/tenants/2/delete-everything"))
    assert "<strong>10</strong> SIP users" in page and "<strong>1</strong> routes" in page
    wrong = post(superadmin, "/admin/tenants/2/delete-everything", {"confirm": "acme"})
    assert wrong.status_code == 422 and "type the tenant&#39;s code, globex, to confirm" in text(wrong)
    session.rollback()
    assert session.get(Tenant, 2) is not None
    before = audit_count(session)
    done = post(superadmin, "/admin/tenants/2/delete-everything", {"confirm": "globex"}, follow_redirects=True)
    assert "Deleted tenant globex with" in text(done) and "10 SIP users" in text(done)
    session.rollback()
    assert session.get(Tenant, 2) is None
    assert session.scalar(select(func.count()).select_from(SipUser).where(SipUser.tenant_id == 2)) == 0
    assert session.scalar(select(func.count()).select_from(Did).where(Did.tenant_id == 2)) == 0
    assert session.get(Route, 5) is None and session.get(Route, 1) is not None
    assert audit_count(session) == before + 1


def test_only_a_superadmin_deletes_a_tenant_with_everything(acme_admin):
    assert acme_admin.get("/admin/tenants/1/delete-everything").status_code == 404
    assert post(acme_admin, "/admin/tenants/1/delete-everything", {"confirm": "acme"}).status_code == 404


# --- lists -------------------------------------------------------------------------------------

def test_lists_sort_by_a_column_and_keep_sort_and_page_size_on_their_links(superadmin):
    page = text(superadmin.get("/admin/sip-users/?sort=-username&per_page=25"))
    names = re.findall(r'/admin/sip-users/\d+">(\d{4})</a>', page)
    assert names[:3] == ["2004", "2004", "2004"] and "▼" in page
    assert "sort=username" in page and "page=2" in page and "per_page=25" in page
    assert 'id="jump-page"' in page and 'max="2"' in page
    bad = text(superadmin.get("/admin/sip-users/?sort=password"))
    assert "cannot sort by" in bad


def test_a_page_past_the_end_says_so_and_links_the_last_page(superadmin):
    page = text(superadmin.get("/admin/sip-users/?page=9&per_page=25"))
    assert "Page 9 is past the end: there are only 2 pages of SIP users." in page
    assert "page=2" in page


# --- validation wording --------------------------------------------------------------------------

def test_a_prefix_with_a_letter_is_digits_only_not_a_length_problem(superadmin):
    page = text(post(superadmin, "/admin/routes/new", {"prefix": "4a", "gateway_id": "1", "priority": "10",
                                                       "weight": "100", "enabled": "true"}))
    assert "must be digits only (0-9)" in page and "at most 32 digits" not in page


# --- CSV -----------------------------------------------------------------------------------------

def test_each_resource_has_a_csv_template_to_download(superadmin, acme_admin):
    users = superadmin.get("/admin/template/sip_users.csv")
    assert users.mimetype == "text/csv" and text(users).startswith("tenant,username,password,kind,")
    assert text(superadmin.get("/admin/template/routes.csv")).startswith("tenant,prefix,gateway,")
    assert acme_admin.get("/admin/template/routes.csv").status_code == 404
    assert "download a template" in text(superadmin.get("/admin/import"))


def upload(client, kind: str, content: str):
    return post(client, "/admin/import", {"kind": kind, "file": (io.BytesIO(content.encode()), "rows.csv")},
                content_type="multipart/form-data", follow_redirects=True)


def test_a_semicolon_separated_file_is_read_and_imported_as_one_audit_entry(superadmin, session):
    before = audit_count(session)
    content = "tenant;username;password;kind\nacme;6000;password-6000;agent\nacme;6001;password-6001;robot\n"
    assert "2 created" in text(upload(superadmin, "sip_users", content))
    assert audit_count(session) == before + 1
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.action == "import" and entry.entity == "sip_user"
    assert [row["name"] for row in json.loads(entry.after_json)["rows"]] == [
        "SIP user 6000@acme.example.com", "SIP user 6001@acme.example.com"]
    assert "password-6000" not in entry.after_json


def test_rejected_rows_show_their_values(superadmin):
    page = text(upload(superadmin, "sip_users", "tenant,username,password\nacme,6100,short\nnowhere,6101,password-6101\n"))
    assert "<code>username=6100</code>" in page and "<code>tenant=nowhere</code>" in page
    assert "password=***" in page and "password-6101" not in page


def test_the_audit_log_names_rows_as_people_say_them(superadmin):
    post(superadmin, "/admin/dids/1", {"number": "8610000001", "tenant_id": "1", "username": "1001", "enabled": "true"})
    post(superadmin, "/admin/routes/3", {"tenant_id": "", "prefix": "86", "gateway_id": "2", "priority": "11",
                                         "weight": "100", "enabled": "true"})
    post(superadmin, "/admin/sip-users/1", {"username": "1000", "kind": "agent", "cid_name": "Front desk",
                                            "enabled": "true"})
    page = text(superadmin.get("/admin/audit/"))
    assert "DID 8610000001" in page and "route 86 -&gt; carrier-b" in page and "SIP user 1000@acme.example.com" in page


# --- the same through the API --------------------------------------------------------------------

def test_the_api_deletes_a_tenant_with_everything_and_does_bulk_work(client, session):
    from xmlcurl.services import Actor, api_tokens

    with client.application.app_context():
        _row, token = api_tokens.create(session, Actor.cli("pytest"), {"admin_user_id": 1, "name": "bulk"})
        session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    refused = client.post("/api/v1/tenants/3/delete-everything", json={"confirm": "acme"}, headers=headers)
    assert refused.status_code == 422 and "initech" in refused.get_json()["message"]
    done = client.post("/api/v1/tenants/3/delete-everything", json={"confirm": "initech"}, headers=headers)
    assert done.status_code == 200 and done.get_json()["deleted"]["SIP users"] == 10
    changed = client.post("/api/v1/sip-users/bulk", json={"action": "disable", "ids": [11, 12]}, headers=headers)
    assert changed.get_json() == {"count": 2}
    bad = client.post("/api/v1/sip-users/bulk", json={"action": "explode", "ids": [11]}, headers=headers)
    assert bad.status_code == 422 and "must be one of" in str(bad.get_json()["errors"])
