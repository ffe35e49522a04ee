"""The admin organised around the tenant, in a real headless Chromium (Playwright): workspace and
switcher, bulk work, generated passwords, ranges, deleting a tenant, lists, validation, CSV, audit names."""
from __future__ import annotations

import pytest

from xmlcurl import db
from xmlcurl.services import Actor, admin_users

from .test_browser import SHOTS, browser, database_url, flash, live_server, page, sign_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def main_nav(page):
    return page.get_by_role("navigation", name="Main")


def test_operator_switches_tenant_and_works_from_its_workspace(page):
    sign_in(page)
    page.goto("/admin/sip-users/")
    assert "30 rows" in page.locator("nav.pager").inner_text()
    # The header's switcher applies on change (admin.js) and every list follows.
    with page.expect_navigation():
        page.get_by_label("Workspace").select_option(label="globex")
    assert "10 rows" in page.locator("nav.pager").inner_text()
    assert "globex" in page.locator("h1").inner_text()
    main_nav(page).get_by_role("link", name="DIDs").click()
    assert "8610000001" not in page.locator("table").inner_text()
    main_nav(page).get_by_role("link", name="Tenant workspace").click()
    assert page.locator("h1").inner_text().startswith("Tenant globex")
    assert "globex.example.com" in page.locator("#connect").inner_text()
    assert "Most concurrent calls" in page.locator("#limits").inner_text()
    routes = page.locator("#routes").inner_text()
    assert "carrier-b" in routes and "all tenants" in routes
    page.screenshot(path=str(SHOTS / "xmlcurl-admin-workspace.png"), full_page=True)
    # A user row's preview shows the directory answer its media node gets.
    page.locator("#users tr", has_text="1001").get_by_role("link", name="Preview").click()
    assert "a1-hash" in page.locator("body").inner_text()
    assert page.get_by_label("Domain").input_value() == "globex.example.com"
    page.go_back()
    # Test a number, prefilled with the tenant.
    page.get_by_label("Number a user of globex dials").fill("15551234567")
    page.get_by_role("button", name="Test", exact=True).click()
    assert "Tenant globex, number 15551234567" in page.locator("#decision").inner_text()
    # A route row's route test.
    page.goto("/admin/routes/")
    page.locator("tbody tr", has_text="carrier-b").first.get_by_role("link", name="Route test").click()
    assert page.locator("#decision").is_visible()
    # Back to all tenants. The switcher applies on change once admin.js has run (at DOMContentLoaded):
    # the click above does not wait for the page it opened to get that far.
    page.wait_for_load_state()
    with page.expect_navigation():
        page.get_by_label("Workspace").select_option(label="all tenants")
    page.goto("/admin/sip-users/")
    assert "30 rows" in page.locator("nav.pager").inner_text()


def test_operator_disables_and_deletes_many_users_at_once(page):
    sign_in(page)
    page.goto("/admin/sip-users/?q=200&per_page=25")
    page.get_by_label("Select every row on this page").check()
    page.get_by_role("button", name="Disable selected").click()
    assert flash(page) == "Disabled 15 SIP users."
    assert page.locator("tbody tr", has_text="yes").count() == 0
    page.get_by_label("Select SIP user 2003", exact=True).first.check()
    page.get_by_label("Select SIP user 2004", exact=True).first.check()
    page.get_by_role("button", name="Delete selected").click()
    assert page.locator("h1").inner_text() == "Delete 2 SIP users?"
    page.get_by_role("button", name="Delete 2 SIP users").click()
    assert flash(page) == "Deleted 2 SIP users."
    page.goto("/admin/audit/")
    first = page.locator("table.audit tbody tr").first.inner_text()
    assert "bulk delete" in first and "2 SIP users" in first and "SIP user 2003@acme.example.com" in first


def test_operator_creates_users_with_generated_passwords_one_by_one_and_by_range(page, tmp_path):
    sign_in(page)
    page.goto("/admin/sip-users/new")
    page.get_by_role("combobox", name="Tenant", exact=True).select_option(label="initech (Initech)")
    page.get_by_role("textbox", name="Username", exact=True).fill("3000")
    page.get_by_role("button", name="Save and add another").click()
    password = page.get_by_label("Password of 3000@initech.example.com").input_value()
    assert len(password) >= 16
    page.get_by_role("link", name="Add another SIP user").click()
    assert page.get_by_role("combobox", name="Tenant", exact=True).input_value() == "3"
    # A range: 200 robots, a password each, shown once and downloadable.
    page.goto("/admin/sip-users/range")
    page.get_by_role("combobox", name="Tenant", exact=True).select_option(label="initech (Initech)")
    page.get_by_label("First username").fill("4000")
    page.get_by_label("Last username").fill("4199")
    page.get_by_role("button", name="Create the users").click()
    assert flash(page) == "Created 200 SIP users in initech: 4000 to 4199."
    assert page.locator("table.credentials tbody tr").count() == 200
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the passwords (CSV)").click()
    saved = tmp_path / "credentials.csv"
    download.value.save_as(saved)
    lines = saved.read_text().splitlines()
    assert lines[0] == "username,domain,password" and len(lines) == 201 and lines[1].startswith("4000,initech.example.com,")
    # Taken usernames: nothing is created, and the page says which.
    page.goto("/admin/sip-users/range")
    page.get_by_role("combobox", name="Tenant", exact=True).select_option(label="initech (Initech)")
    page.get_by_label("First username").fill("4199")
    page.get_by_label("Last username").fill("4200")
    page.get_by_role("button", name="Create the users").click()
    assert "1 of 2 users cannot be created" in page.locator("p.alert").inner_text()


def test_operator_deletes_a_tenant_with_everything_after_typing_its_code(page):
    sign_in(page)
    page.goto("/admin/tenant/3")
    page.get_by_role("link", name="Delete with everything…").click()
    counts = page.locator("ul.purge-counts").inner_text()
    assert "10 SIP users" in counts and "1 approved caller IDs" in counts and "2 media node pinnings" in counts
    page.get_by_label("Type the tenant's code").fill("initec")
    page.get_by_role("button", name="Delete initech and everything it owns").click()
    assert "type the tenant's code, initech, to confirm" in page.locator("p.alert").inner_text()
    page.get_by_label("Type the tenant's code").fill("initech")
    page.get_by_role("button", name="Delete initech and everything it owns").click()
    assert flash(page).startswith("Deleted tenant initech with ")
    assert "initech" not in page.locator("table").inner_text()


def test_lists_sort_change_page_size_jump_and_explain_a_page_past_the_end(page):
    sign_in(page)
    page.goto("/admin/sip-users/")
    page.get_by_role("link", name="Sort by Username").click()
    page.get_by_role("link", name="Sort by Username, descending").click()
    assert page.locator("tbody tr td:nth-child(3)").first.inner_text() == "2004"
    page.get_by_label("Rows per page").select_option("25")
    page.get_by_role("button", name="Search").click()
    assert "page 1 of 2" in page.locator("nav.pager").inner_text()
    assert page.locator("tbody tr td:nth-child(3)").first.inner_text() == "2004"  # still sorted
    page.get_by_label("Go to page").fill("2")
    page.get_by_role("button", name="Go", exact=True).click()
    assert "page 2 of 2" in page.locator("nav.pager").inner_text()
    page.goto("/admin/sip-users/?page=7&per_page=25")
    assert "Page 7 is past the end: there are only 2 pages" in page.locator("p.alert").inner_text()
    page.get_by_role("link", name="Go to the last page").click()
    assert "page 2 of 2" in page.locator("nav.pager").inner_text()


def test_validation_names_the_real_problem(page):
    sign_in(page)
    page.goto("/admin/routes/new")
    page.get_by_label("Number prefix").fill("4a")
    page.get_by_role("combobox", name="Gateway").select_option(label="carrier-a (127.0.0.20:5060)")
    page.get_by_role("button", name="Create").click()
    assert page.locator("#prefix-error").inner_text() == "must be digits only (0-9)"


def test_csv_template_semicolons_rejected_values_and_one_audit_entry_per_import(page, tmp_path):
    sign_in(page)
    page.goto("/admin/import?kind=sip_users")
    with page.expect_download() as download:
        page.get_by_role("link", name="download a template").first.click()
    template = tmp_path / "template.csv"
    download.value.save_as(template)
    assert template.read_text().startswith("tenant,username,password,")
    bad = tmp_path / "bad.csv"
    bad.write_text("tenant;username;password\nacme;6000;short\nacme;6001;password-6001\n")
    page.get_by_label("CSV file (UTF-8)").set_input_files(str(bad))
    page.get_by_role("button", name="Import").click()
    rejected = page.locator("table.rejections tbody tr").first.inner_text()
    assert "username=6000" in rejected and "must be 8 to 128 characters" in rejected and "short" not in rejected
    good = tmp_path / "good.csv"
    good.write_text("tenant;username;password\n" + "".join(f"acme;6{n:03d};password-6{n:03d}\n" for n in range(200)))
    page.get_by_label("CSV file (UTF-8)").set_input_files(str(good))
    page.get_by_role("button", name="Import").click()
    assert "200 created" in flash(page)
    page.goto("/admin/audit/")
    rows = page.locator("table.audit tbody tr")
    assert "import" in rows.first.inner_text() and "200 SIP users" in rows.first.inner_text()
    rows.first.locator("summary").click()
    assert "SIP user 6199@acme.example.com" in rows.first.inner_text()
    assert rows.count() == 1  # 200 rows, one entry (the rejected file wrote none)


def test_tenant_admin_sees_what_a_phone_needs_and_only_its_tenant(page, live_server):
    sign_in(page)
    page.goto("/admin/admin-users/new")
    page.get_by_role("textbox", name="Username", exact=True).fill("acme-admin")
    page.get_by_role("textbox", name="Password", exact=True).fill("acme-password-123")
    page.get_by_label("Role").select_option("tenant_admin")
    page.get_by_label("Tenant (tenant admins)").select_option(label="acme (Acme Motors)")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "acme-admin", "acme-password-123")
    assert page.get_by_label("Workspace").count() == 0
    main_nav(page).get_by_role("link", name="My tenant").click()
    assert page.locator("h1").inner_text().startswith("Tenant acme")
    connect = page.locator("#connect").inner_text()
    assert "acme.example.com" in connect and "5060/udp" in connect
    assert "8610000001" in page.locator("#dids").inner_text()
    body = page.locator("main").inner_text()
    assert "globex" not in body and "carrier-" not in body and "Route test" not in body
    page.goto("/admin/sip-users/1")
    assert "1000@acme.example.com" in page.locator("p.row-tenant").inner_text()
    page.goto("/admin/sip-users/?per_page=25")
    page.get_by_label("Select every row on this page").check()
    page.get_by_role("button", name="Disable selected").click()
    assert flash(page) == "Disabled 10 SIP users."
    assert page.goto("/admin/tenant/2").status == 404
