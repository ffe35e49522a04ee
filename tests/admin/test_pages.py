"""Every admin page renders, forms show errors next to fields, changes are confirmed and audited."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from xmlcurl.models import AuditEntry, SipUser, Tenant, TenantNode

from .conftest import post

PAGES = (
    "/admin/", "/admin/tenants/", "/admin/tenants/new", "/admin/tenants/1", "/admin/tenants/1/delete",
    "/admin/nodes/", "/admin/nodes/new", "/admin/nodes/2", "/admin/nodes/2/delete",
    "/admin/sip-users/", "/admin/sip-users/new", "/admin/sip-users/1", "/admin/sip-users/1/delete",
    "/admin/gateways/", "/admin/gateways/new", "/admin/gateways/1", "/admin/gateways/1/delete",
    "/admin/routes/", "/admin/routes/new", "/admin/routes/1", "/admin/routes/1/delete",
    "/admin/dids/", "/admin/dids/new", "/admin/dids/1", "/admin/dids/1/delete",
    "/admin/admin-users/", "/admin/admin-users/new", "/admin/admin-users/1",
    "/admin/caller-ids/", "/admin/caller-ids/new", "/admin/caller-ids/1", "/admin/caller-ids/1/delete",
    "/admin/dids/assign",
    "/admin/pinning/", "/admin/pinning/1/2", "/admin/pinning/1/2/delete",
    "/admin/tokens/", "/admin/audit/", "/admin/import", "/admin/preview", "/admin/route-test",
    "/admin/sip-users/?q=100&kind=agent&page=1", "/admin/routes/?tenant_id=all", "/admin/dids/?number=861",
    "/admin/audit/?entity=tenant&since=2020-01-01",
)


def test_every_page_renders_for_a_superadmin(superadmin):
    for path in PAGES:
        response = superadmin.get(path)
        assert response.status_code == 200, path
        assert "<h1>" in response.get_data(as_text=True), path


def test_every_tenant_admin_page_renders(acme_admin):
    for path in ("/admin/", "/admin/account", "/admin/sip-users/", "/admin/sip-users/new", "/admin/sip-users/1", "/admin/dids/",
                 "/admin/dids/1", "/admin/tokens/", "/admin/audit/", "/admin/import",
                 "/admin/export/sip_users.csv", "/admin/export/dids.csv"):
        response = acme_admin.get(path)
        assert response.status_code == 200 and response.get_data(), path


def test_list_pages_page_through_rows(superadmin):
    first = superadmin.get("/admin/sip-users/?per_page=10").get_data(as_text=True)
    assert "30 rows · page 1 of 3" in first and "Next" in first
    third = superadmin.get("/admin/sip-users/?per_page=10&page=3").get_data(as_text=True)
    assert "page 3 of 3" in third and "Previous" in third


def test_a_bad_filter_is_shown_not_crashed(superadmin):
    response = superadmin.get("/admin/sip-users/?page=abc")
    assert response.status_code == 200
    assert "must be a whole number" in response.get_data(as_text=True)


def test_creating_a_tenant_confirms_and_lands_on_its_page(superadmin, session):
    response = post(superadmin, "/admin/tenants/new", {"code": "umbrella", "name": "Umbrella",
                                                       "sip_domain": "Umbrella.Example.com", "enabled": "true"},
                    follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Created tenant umbrella." in page and "Media nodes serving umbrella" in page
    tenant = session.scalars(select(Tenant).where(Tenant.code == "umbrella")).one()
    assert tenant.sip_domain == "umbrella.example.com" and tenant.max_calls == 100
    entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "tenant")).all()[-1]
    assert entry.actor == "admin" and entry.source == "admin" and entry.action == "create"


def test_invalid_input_is_shown_next_to_its_field_and_kept(superadmin):
    response = post(superadmin, "/admin/tenants/new", {"code": "Bad Code", "name": "Kept name",
                                                       "sip_domain": "not a domain"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="code-error">must be 2-32 lowercase', page)
    assert 'id="sip_domain-error">must be a valid DNS name' in page
    assert 'value="Kept name"' in page


def test_a_duplicate_is_a_conflict_on_its_field(superadmin):
    response = post(superadmin, "/admin/tenants/new", {"code": "acme", "name": "Again", "sip_domain": "again.example.com"})
    assert response.status_code == 409
    assert 'id="code-error">a tenant with this code already exists' in response.get_data(as_text=True)


def test_an_unticked_box_turns_the_flag_off(superadmin, session):
    response = post(superadmin, "/admin/sip-users/2", {"username": "1001", "kind": "agent"})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(SipUser, 2).enabled is False


def test_changing_a_domain_with_users_asks_for_confirmation(superadmin, session):
    form = {"code": "acme", "name": "Acme Motors", "sip_domain": "new-acme.example.com", "max_calls": "100",
            "max_cps": "10", "country_code": "86", "national_prefix": "0", "international_prefix": "00", "enabled": "true"}
    refused = post(superadmin, "/admin/tenants/1", form)
    assert refused.status_code == 422
    assert "changing the SIP domain requires new passwords" in refused.get_data(as_text=True)
    accepted = post(superadmin, "/admin/tenants/1", {**form, "confirm_new_domain": "true"})
    assert accepted.status_code == 302
    session.expire_all()
    assert session.get(SipUser, 1).enabled is False and session.get(SipUser, 1).a1_hash == ""


def test_delete_confirmation_lists_dependents_and_refuses(superadmin, session):
    page = superadmin.get("/admin/tenants/1/delete").get_data(as_text=True)
    assert "It cannot be deleted" in page and "10 sip users" in page and "1 dids" in page
    assert 'href="/admin/sip-users/1"' in page and 'href="/admin/sip-users/?tenant_id=1">see all' in page
    assert "<button" not in page.split("<main>")[1]
    response = post(superadmin, "/admin/tenants/1/delete")
    assert response.status_code == 409
    session.expire_all()
    assert session.get(Tenant, 1) is not None


def test_delete_by_post_from_the_confirmation_page(superadmin, session):
    page = superadmin.get("/admin/routes/5/delete").get_data(as_text=True)
    assert "This cannot be undone" in page
    response = post(superadmin, "/admin/routes/5/delete", follow_redirects=True)
    assert "Deleted route 1 #5." in response.get_data(as_text=True)
    assert superadmin.get("/admin/routes/5").status_code == 404


def test_pinning_from_the_tenant_page(superadmin, session):
    response = post(superadmin, "/admin/pinning/new", {"tenant_id": "2", "node_id": "2", "weight": "40",
                                                       "back": "tenant"}, follow_redirects=True)
    assert "Pinned tenant globex to media-1 (weight 40)." in response.get_data(as_text=True)
    assert session.get(TenantNode, (2, 2)).weight == 40
    acme = superadmin.get("/admin/tenants/1").get_data(as_text=True)
    assert '<option value="3">media-2' in acme and '<option value="2">' not in acme.split("pin-node")[1]
    assert "Pinned to every media node." in superadmin.get("/admin/tenants/2").get_data(as_text=True)
    router = post(superadmin, "/admin/pinning/new", {"tenant_id": "2", "node_id": "1", "back": "tenant"},
                  follow_redirects=True)
    assert "only media nodes can be pinned" in router.get_data(as_text=True)


def test_did_form_names_the_user_by_username(superadmin, session):
    missing = post(superadmin, "/admin/dids/new", {"number": "8610000099", "tenant_id": "1", "username": "9999"})
    assert missing.status_code == 422
    assert 'id="username-error">no user with this username in this tenant' in missing.get_data(as_text=True)
    made = post(superadmin, "/admin/dids/new", {"number": "8610000099", "tenant_id": "1", "username": "1002",
                                                "enabled": "true"}, follow_redirects=True)
    assert "Created DID 8610000099." in made.get_data(as_text=True)


def test_user_variables_are_edited_as_lines(superadmin, session):
    response = post(superadmin, "/admin/sip-users/3", {"username": "1002", "kind": "agent", "enabled": "true",
                                                       "variables": "x_hold_music=local_stream://moh\ntoll_allow=local"})
    assert response.status_code == 302
    session.expire_all()
    assert {v.name: v.value for v in session.get(SipUser, 3).variables} == {
        "x_hold_music": "local_stream://moh", "toll_allow": "local"}
    bad = post(superadmin, "/admin/sip-users/3", {"username": "1002", "kind": "agent", "variables": "9bad=x"})
    assert bad.status_code == 422 and "line 1: name:" in bad.get_data(as_text=True)


def test_api_token_is_shown_once_and_revoked_by_post(superadmin):
    created = post(superadmin, "/admin/tokens/new", {"name": "provisioning"})
    page = created.get_data(as_text=True)
    token = re.search(r'value="(xc_[^"]+)"', page).group(1)
    assert created.headers["Cache-Control"] == "no-store"
    assert token not in superadmin.get("/admin/tokens/").get_data(as_text=True)
    assert superadmin.get("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    token_id = re.search(r'/admin/tokens/(\d+)/revoke', superadmin.get("/admin/tokens/").get_data(as_text=True)).group(1)
    response = post(superadmin, f"/admin/tokens/{token_id}/revoke", follow_redirects=True)
    assert "Revoked API token provisioning" in response.get_data(as_text=True)
    assert superadmin.get("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_csv_import_applies_every_row_or_lists_the_rejected_ones(superadmin, session):
    good = "tenant,username,password,kind\nacme,5000,robot-password-1,robot\nacme,5001,robot-password-2,robot\n"
    bad = "tenant,username,password\nacme,6000,short\nnowhere,6001,long-enough-password\nacme,6002,long-enough-pw\n"
    rejected = post(superadmin, "/admin/import", {"kind": "sip_users",
                                                  "file": (io.BytesIO(bad.encode()), "users.csv")})
    page = rejected.get_data(as_text=True)
    assert rejected.status_code == 422 and "2 of 3 rows rejected; nothing was imported." in page
    assert "<td class=\"num\">2</td><td><strong>password</strong>: must be 8 to 128 characters" in page and "no such tenant" in page
    session.expire_all()
    assert session.scalars(select(SipUser).where(SipUser.username == "6002")).first() is None
    applied = post(superadmin, "/admin/import", {"kind": "sip_users",
                                                 "file": (io.BytesIO(good.encode()), "users.csv")},
                   follow_redirects=True)
    assert "Imported SIP users: 2 created, 0 updated, from 2 rows." in applied.get_data(as_text=True)


def test_csv_import_refuses_a_bad_header_or_no_file(superadmin):
    no_file = post(superadmin, "/admin/import", {"kind": "dids"})
    assert no_file.status_code == 422 and "choose a CSV file" in no_file.get_data(as_text=True)
    header = post(superadmin, "/admin/import", {"kind": "dids", "file": (io.BytesIO(b"numero,x\n1,2\n"), "d.csv")})
    assert header.status_code == 422 and "unknown columns: numero, x" in header.get_data(as_text=True)


def test_csv_export_gives_the_import_columns(superadmin):
    response = superadmin.get("/admin/export/dids.csv")
    assert response.mimetype == "text/csv"
    assert response.get_data(as_text=True).splitlines()[:2] == ["number,tenant,username,enabled",
                                                               "8610000001,acme,1000,true"]


def test_audit_log_filters_by_entity_and_actor(superadmin):
    post(superadmin, "/admin/gateways/2", {"name": "carrier-b", "proxy": "127.0.0.21:5061", "transport": "udp",
                                           "media_mode": "bypass", "expire_seconds": "3600", "retry_seconds": "30",
                                           "strip_digits": "0", "enabled": "true", "caller_id_in_from": "true"})
    page = superadmin.get("/admin/audit/?entity=gateway&actor=admin").get_data(as_text=True)
    assert "gateway carrier-b" in page and "127.0.0.21:5061" in page
    assert "gateway #2" not in superadmin.get("/admin/audit/?entity=tenant").get_data(as_text=True)
    bad = superadmin.get("/admin/audit/?since=yesterday").get_data(as_text=True)
    assert "must be an ISO date" in bad


@pytest.mark.parametrize("mode,form,expected", [
    ("directory", {"domain": "acme.example.com", "user": "1000", "action": "sip_auth"}, '<user id="1000"'),
    ("dialplan", {"context": "tenant-acme", "number": "8613800138000", "caller": "1000"}, "<extension"),
    ("configuration", {"config": "acl.conf"}, '<configuration name="acl.conf"'),
])
def test_preview_shows_the_exact_answer(superadmin, mode, form, expected):
    response = post(superadmin, "/admin/preview", {"mode": mode, "node": "media-1", "profile": "internal",
                                                   "action": "sip_auth", "config": "sofia.conf", **form})
    assert response.status_code == 200
    xml = re.search(r'<pre class="xml" id="answer-xml">(.*?)</pre>', response.get_data(as_text=True), re.S).group(1)
    assert expected.replace("<", "&lt;").replace('"', "&#34;") in xml


def test_preview_takes_a_pasted_capture_and_matches_the_endpoint(superadmin, fetch):
    from tests.conftest import cluster_body

    body = cluster_body("media-1_directory_sip_auth_acme-1000")
    response = post(superadmin, "/admin/preview", {"mode": "raw", "node": "media-1", "action": "sip_auth",
                                                   "config": "sofia.conf", "raw": body.decode()})
    import html

    shown = html.unescape(re.search(r'id="answer-xml">(.*?)</pre>', response.get_data(as_text=True), re.S).group(1))
    assert shown.encode() == fetch(body).data


def test_preview_says_what_is_missing(superadmin):
    response = post(superadmin, "/admin/preview", {"mode": "directory", "node": "", "action": "sip_auth",
                                                   "config": "sofia.conf"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="node-error">choose the node that asks' in page and 'id="user-error">required' in page


def test_route_test_lists_the_legs_in_order_with_why(superadmin):
    page = superadmin.get("/admin/route-test?tenant=acme&number=8613800138000").get_data(as_text=True)
    legs = re.findall(r"<tr><td class=\"num\">(\d)</td><td>([\w-]+)</td>", page)
    assert legs == [("1", "carrier-b"), ("2", "carrier-a")]
    assert "Matched prefix <code>86</code>" in page and "shorter prefix than" in page
    rejected = superadmin.get("/admin/route-test?tenant=acme&number=12&media_node=media-2").get_data(as_text=True)
    assert "Rejected:" in rejected


def test_dashboard_counts_and_recent_fetch_errors(superadmin, fetch):
    from tests.conftest import make_body

    fetch(make_body("media-1", "directory", "domain", "name", "acme.example.com", action="sip_auth",
                    user="4242", domain="acme.example.com", key="id"))
    page = superadmin.get("/admin/").get_data(as_text=True)
    assert "<strong>3</strong> tenants" in page and "<strong>30</strong> SIP users" in page
    assert re.search(r"media-1</a></td><td>media</td>\s*<td>127.0.0.11</td>\s*<td>acme \(100\), initech \(100\)", page)
    assert "acme.example.com/4242/sip_auth" in page


def test_data_is_escaped_on_every_page_it_appears(superadmin):
    name = '<script>alert("x")</script>'
    post(superadmin, "/admin/tenants/new", {"code": "xss", "name": name, "sip_domain": "xss.example.com",
                                            "enabled": "true"})
    for path in ("/admin/tenants/?q=xss", "/admin/", "/admin/audit/?entity=tenant"):
        page = superadmin.get(path).get_data(as_text=True)
        assert "<script>" not in page and "&lt;script&gt;" in page, path


def test_recent_fetch_failures_keep_only_the_newest():
    from xmlcurl.fetch.recent import RecentFailures

    recent = RecentFailures(size=3)
    for n in range(5):
        recent.record("media-1", "directory", f"key-{n}", 200, "not found", "127.0.0.1")
    assert [item.key for item in recent.newest()] == ["key-4", "key-3", "key-2"]
    assert [item.key for item in recent.newest(limit=1)] == ["key-4"]


def test_a_superadmin_assigns_a_did_range_from_the_dids_page(superadmin, session):
    from xmlcurl.models import Did

    assert "/admin/dids/assign" in superadmin.get("/admin/dids/").get_data(as_text=True)
    bad = post(superadmin, "/admin/dids/assign", {"tenant_id": "1", "first": "8610000100", "last": "861000019"})
    assert bad.status_code == 422 and 'id="last-error">must have as many digits as first' in bad.get_data(as_text=True)
    made = post(superadmin, "/admin/dids/assign", {"tenant_id": "1", "first": "8610000100", "last": "8610000199",
                                                   "enabled": "true"}, follow_redirects=True)
    assert "Assigned 100 numbers (8610000100 to 8610000199)." in made.get_data(as_text=True)
    assert session.scalar(select(Did.user_id).where(Did.number == "8610000142")) is None
    taken = post(superadmin, "/admin/dids/assign", {"tenant_id": "2", "first": "8610000190", "last": "8610000209"})
    assert taken.status_code == 409 and "10 numbers of the range are already DIDs" in taken.get_data(as_text=True)


def test_a_superadmin_approves_a_caller_id_and_a_users_form_then_accepts_it(superadmin, session):
    refused = post(superadmin, "/admin/sip-users/2", {"username": "1001", "kind": "agent", "enabled": "true",
                                                      "outbound_cid_number": "8657100001001"})
    assert refused.status_code == 422 and "is not approved for this tenant" in refused.get_data(as_text=True)
    made = post(superadmin, "/admin/caller-ids/new", {"tenant_id": "1", "number": "8657100001001",
                                                      "note": "carrier ticket 42"}, follow_redirects=True)
    assert "Created approved caller ID 8657100001001." in made.get_data(as_text=True)
    accepted = post(superadmin, "/admin/sip-users/2", {"username": "1001", "kind": "agent", "enabled": "true",
                                                       "outbound_cid_number": "8657100001001"})
    assert accepted.status_code == 302
    assert session.scalar(select(AuditEntry.id).where(AuditEntry.entity == "approved_caller_id")) is not None


def test_a_did_ringing_nobody_opens_and_lists(superadmin, session):
    from xmlcurl.models import Did

    session.execute(Did.__table__.update().where(Did.id == 1).values(user_id=None))
    session.commit()
    assert "(nobody)" in superadmin.get("/admin/dids/").get_data(as_text=True)
    assert superadmin.get("/admin/dids/1").status_code == 200
