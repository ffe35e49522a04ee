"""The admin in a real headless Chromium (Playwright), against the app served by a real server thread.

Runs on SQLite and on MariaDB (a database of its own, created and dropped here). Skips without
/usr/bin/chromium on a laptop, never under CI=true.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from xmlcurl import create_app, db

from ..conftest import BASE_SETTINGS, IN_CI, MYSQL_URL, basic_auth, mysql_server_engine, seed_demo

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SHOTS = Path("/tmp")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing (scripts/system-deps.sh installs it)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def database_url(request, tmp_path, sqlite_template):
    """A demo-seeded database only this test's server uses (a thread-safe real database, no shared transaction)."""
    if request.param == "sqlite":
        path = tmp_path / "browser.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = f"{MYSQL_URL}_browser"
    engine = mysql_server_engine(url)
    db.drop_all(engine)
    db.create_schema(engine)
    seed_demo(engine)
    engine.dispose()
    yield url


@pytest.fixture
def live_server(database_url):
    """The app on 127.0.0.1, an ephemeral port, in a server thread."""
    app = create_app({**BASE_SETTINGS, "DATABASE_URL": database_url})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # shutdown() waits for the loop to look at its flag: every 0.5 s by default, at each test's end.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["xmlcurl.db"].dispose()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def sign_in(page, username="admin", password="demo-admin-password"):
    page.goto("/admin/")
    page.get_by_role("textbox", name="Username", exact=True).fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {username}.").wait_for()
    # The text is there before the stylesheet and admin.js are: what the tests read (text shown in
    # upper case by CSS) and use (the switcher, select-all) needs the whole page.
    page.wait_for_load_state()


def flash(page) -> str:
    return page.locator("p.flash").first.inner_text()


def test_operator_sets_up_a_tenant_from_sign_in_to_route_test(page, live_server, tmp_path):
    sign_in(page)
    assert "Dashboard" in page.locator("h1").inner_text()

    # Create a tenant.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tenants").click()
    page.get_by_role("link", name="New tenant").click()
    page.get_by_role("textbox", name="Code", exact=True).fill("umbrella")
    page.get_by_role("textbox", name="Name", exact=True).fill("Umbrella Corp")
    page.get_by_role("textbox", name="SIP domain", exact=True).fill("umbrella.example.com")
    page.get_by_label("Country code").fill("44")
    page.get_by_label("National prefix", exact=True).fill("0")
    page.get_by_role("button", name="Create").click()
    assert flash(page) == "Created tenant umbrella."

    # Pin it to a media node, on its page.
    page.get_by_label("Pin to media node").select_option(label="media-2 (127.0.0.12)")
    page.get_by_label("Weight").fill("80")
    page.get_by_role("button", name="Pin", exact=True).click()
    assert flash(page) == "Pinned tenant umbrella to media-2 (weight 80)."
    assert page.locator("section.pins td").first.inner_text() == "media-2"
    page.screenshot(path=str(SHOTS / "xmlcurl-admin-tenant.png"), full_page=True)

    # Add a user; a too-short password is shown next to its field first.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="SIP users").click()
    page.get_by_role("link", name="New SIP user").click()
    page.get_by_role("combobox", name="Tenant", exact=True).select_option(label="umbrella (Umbrella Corp)")
    page.get_by_role("textbox", name="Username", exact=True).fill("1000")
    page.get_by_role("textbox", name="SIP password").fill("short")
    page.get_by_role("button", name="Create").click()
    assert "must be 8 to 128 characters" in page.locator("#password-error").inner_text()
    page.get_by_role("textbox", name="SIP password").fill("umbrella-1000-pw")
    page.get_by_role("button", name="Create").click()
    assert flash(page) == "Created SIP user 1000."

    # Import a CSV of users: a bad file is refused whole with its rejected rows, a good one applied.
    bad = tmp_path / "bad.csv"
    bad.write_text("tenant,username,password,kind\numbrella,2000,robot-pass-2000,robot\numbrella,1000,dup-password,agent\n")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="CSV import").click()
    page.get_by_label("What the file holds").select_option("sip_users")
    page.get_by_label("CSV file (UTF-8)").set_input_files(str(bad))
    page.get_by_role("button", name="Import").click()
    assert "1 of 2 rows rejected; nothing was imported." in page.locator("p.alert").inner_text()
    assert "the tenant already has a user with this username" in page.locator("table.rejections").inner_text()
    good = tmp_path / "users.csv"
    good.write_text("tenant,username,password,kind\n" + "".join(
        f"umbrella,{2000 + i},robot-pass-{2000 + i},robot\n" for i in range(25)))
    page.get_by_label("CSV file (UTF-8)").set_input_files(str(good))
    page.get_by_role("button", name="Import").click()
    assert flash(page) == "Imported SIP users: 25 created, 0 updated, from 25 rows."

    # Add a route of the tenant's own.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Routes").click()
    page.get_by_role("link", name="New route").click()
    page.get_by_role("combobox", name="Tenant", exact=True).select_option(label="umbrella (Umbrella Corp)")
    page.get_by_label("Number prefix").fill("44")
    page.get_by_label("Gateway").select_option(label="carrier-a (127.0.0.20:5060)")
    page.get_by_role("button", name="Create").click()
    assert re.fullmatch(r"Created route 44 #\d+\.", flash(page))

    # Preview the directory XML of the new user: the same bytes the endpoint answers.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Preview").click()
    page.get_by_label("Node that asks").select_option("media-2")
    page.get_by_label("Directory: a user").check()
    page.get_by_label("Domain").fill("umbrella.example.com")
    page.get_by_label("User", exact=True).fill("1000")
    page.get_by_role("button", name="Show the answer").click()
    xml = page.locator("#answer-xml").inner_text()
    assert '<user id="1000"' in xml and 'name="a1-hash"' in xml
    page.locator("details summary").click()
    sent = page.locator("pre.body").inner_text()
    request = urllib.request.Request(f"{live_server}/freeswitch", data=sent.encode(), method="POST",
                                     headers={**basic_auth("media-2", "media-2-secret"),
                                              "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.read().decode() == xml
    page.screenshot(path=str(SHOTS / "xmlcurl-admin-preview.png"), full_page=True)

    # Route test: the tenant's own 44 route wins over the routes of all tenants.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Route test").click()
    page.get_by_label("Tenant").select_option("umbrella")
    page.get_by_label("Dialled number").fill("02071234567")
    page.get_by_label("Calling media node (optional)").select_option("media-2")
    page.get_by_role("button", name="Test").click()
    decision = page.locator("#decision").inner_text()
    assert "dialled 02071234567 is sent to the routers as 442071234567" in decision
    first_leg = page.locator("#legs tbody tr").first.locator("td")
    assert [first_leg.nth(i).inner_text() for i in range(4)] == ["1", "carrier-a", "44", "tenant"]
    assert "bridge" in decision.lower() and "sofia/gateway/carrier-a/0442071234567" in decision
    page.screenshot(path=str(SHOTS / "xmlcurl-admin-route-test.png"), full_page=True)

    # The dashboard shows the new tenant's users and its pinning.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    row = page.locator("tr", has=page.get_by_role("link", name="umbrella", exact=True)).first
    assert [row.locator("td").nth(i).inner_text() for i in (2, 3, 4)] == ["1", "25", "0"]
    assert "umbrella (80)" in page.locator("tr", has_text="media-2").first.inner_text()


def test_form_post_without_its_csrf_token_is_refused(page, live_server):
    sign_in(page)
    page.goto("/admin/tenants/new")
    page.get_by_role("textbox", name="Code", exact=True).fill("forged")
    page.get_by_role("textbox", name="Name", exact=True).fill("Forged")
    page.get_by_role("textbox", name="SIP domain", exact=True).fill("forged.example.com")
    page.evaluate("document.querySelector('form.record input[name=csrf_token]').remove()")
    with page.expect_response(lambda r: r.url.endswith("/admin/tenants/new") and r.request.method == "POST") as posted:
        page.get_by_role("button", name="Create").click()
    assert posted.value.status == 400
    assert "Form refused" in page.locator("h1").inner_text()
    page.goto("/admin/tenants/?q=forged")
    assert page.locator("p.empty").inner_text() == "No tenants match this search."


def test_tenant_admin_sees_only_its_own_tenant(page, live_server):
    sign_in(page)
    page.goto("/admin/admin-users/new")
    page.get_by_role("textbox", name="Username", exact=True).fill("globex-admin")
    page.get_by_role("textbox", name="Password", exact=True).fill("globex-password-1")
    page.get_by_label("Role").select_option("tenant_admin")
    page.get_by_label("Tenant (tenant admins)").select_option(label="globex (Globex Corporation)")
    page.get_by_role("button", name="Create").click()
    assert flash(page) == "Created admin user globex-admin."
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "globex-admin", "globex-password-1")
    menu = page.get_by_role("navigation", name="Main").inner_text()
    assert "SIP users" in menu and "Nodes" not in menu and "Routes" not in menu
    assert page.goto("/admin/nodes/").status == 404
    assert page.goto("/admin/sip-users/1").status == 404  # acme's user
    page.goto("/admin/sip-users/")
    assert "10 rows" in page.locator("nav.pager").inner_text()
