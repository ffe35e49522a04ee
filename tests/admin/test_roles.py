"""Roles: a tenant admin sees only its own tenant's SIP users and DIDs; everything else answers 404."""
from __future__ import annotations

from .conftest import post

SUPERADMIN_ONLY = (
    "/admin/tenants/", "/admin/tenants/1", "/admin/tenants/new", "/admin/tenants/2/delete",
    "/admin/nodes/", "/admin/nodes/1", "/admin/nodes/new",
    "/admin/gateways/", "/admin/gateways/1", "/admin/routes/", "/admin/routes/1", "/admin/routes/new",
    "/admin/admin-users/", "/admin/admin-users/1",
    "/admin/pinning/", "/admin/pinning/1/2", "/admin/preview", "/admin/route-test?tenant=acme&number=8613800138000",
    "/admin/export/routes.csv", "/admin/import?kind=routes",
)
OTHER_TENANTS = ("/admin/sip-users/11", "/admin/sip-users/11/delete", "/admin/dids/2", "/admin/dids/3/delete")


def test_tenant_admin_gets_404_outside_its_tenant(acme_admin):
    answers = {path: acme_admin.get(path).status_code for path in SUPERADMIN_ONLY + OTHER_TENANTS}
    assert answers == {path: 404 for path in answers}


def test_tenant_admin_cannot_change_another_tenants_user_by_post(acme_admin):
    response = post(acme_admin, "/admin/sip-users/11", {"username": "1000", "kind": "agent", "enabled": "true"})
    assert response.status_code == 404
    assert post(acme_admin, "/admin/sip-users/11/delete").status_code == 404
    assert post(acme_admin, "/admin/tenants/2/delete").status_code == 404
    assert post(acme_admin, "/admin/pinning/new", {"tenant_id": "1", "node_id": "3"}).status_code == 404


def test_tenant_admin_lists_only_its_own_users_and_dids(acme_admin):
    users = acme_admin.get("/admin/sip-users/?per_page=100").get_data(as_text=True)
    assert "10 rows" in users and "/admin/sip-users/11" not in users and "/admin/sip-users/1\"" in users
    dids = acme_admin.get("/admin/dids/").get_data(as_text=True)
    assert "8610000001" in dids and "8610000002" not in dids
    # Its own rows open; the menu offers nothing it cannot use.
    assert acme_admin.get("/admin/sip-users/1").status_code == 200
    assert acme_admin.get("/admin/dids/1").status_code == 200
    menu = acme_admin.get("/admin/").get_data(as_text=True)
    assert "/admin/nodes/" not in menu and "/admin/routes/" not in menu and "/admin/preview" not in menu


def test_tenant_admin_dashboard_shows_only_its_tenant(acme_admin):
    page = acme_admin.get("/admin/").get_data(as_text=True)
    assert "Acme Motors" in page and "Globex" not in page and "Nodes" not in page


def test_a_forged_tenant_field_is_ignored_and_the_user_lands_in_the_admins_tenant(acme_admin, session):
    from sqlalchemy import select

    from xmlcurl.models import SipUser

    response = post(acme_admin, "/admin/sip-users/new", {"username": "3000", "password": "long-enough-pw",
                                                         "kind": "agent", "enabled": "true", "tenant_id": "2"})
    assert response.status_code == 302
    session.expire_all()
    assert session.scalars(select(SipUser.tenant_id).where(SipUser.username == "3000")).all() == [1]


def test_a_tenant_admin_points_its_dids_at_users_but_cannot_create_or_delete_them(acme_admin, session):
    from xmlcurl.models import Did

    page = acme_admin.get("/admin/dids/").get_data(as_text=True)
    assert "/admin/dids/new" not in page and "/admin/dids/assign" not in page
    assert acme_admin.get("/admin/dids/new").status_code == 404
    assert post(acme_admin, "/admin/dids/new", {"number": "8610000099", "username": "1001"}).status_code == 404
    assert acme_admin.get("/admin/dids/assign").status_code == 404
    assert post(acme_admin, "/admin/dids/1/delete").status_code == 403
    changed = post(acme_admin, "/admin/dids/1", {"number": "8610000001", "username": "1003", "enabled": "true"})
    assert changed.status_code == 302
    renumbered = post(acme_admin, "/admin/dids/1", {"number": "8610000002", "username": "1003", "enabled": "true"})
    assert renumbered.status_code == 422
    session.expire_all()
    did = session.get(Did, 1)
    assert (did.number, did.user_id) == ("8610000001", 4)


def test_approved_caller_ids_are_a_superadmin_page(acme_admin):
    assert acme_admin.get("/admin/caller-ids/").status_code == 404
    assert "/admin/caller-ids/" not in acme_admin.get("/admin/").get_data(as_text=True)
