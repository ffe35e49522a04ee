"""The start page in real Chromium: from `/` to the signed-in admin, as a newcomer after `make serve`."""
from __future__ import annotations

import pytest

from .test_browser import browser, database_url, live_server, page  # noqa: F401  (the shared fixtures)

pytestmark = pytest.mark.browser


def test_newcomer_goes_from_the_start_page_to_the_admin_with_the_demo_login(page, live_server):  # noqa: F811
    page.goto("/")
    assert page.title() == "xmlcurl"
    assert page.locator("#fetch-url").inner_text() == f"POST {live_server}/freeswitch"
    page.get_by_role("link", name=f"{live_server}/admin/").click()
    page.wait_for_url("**/admin/login**")
    page.get_by_role("textbox", name="Username", exact=True).fill("admin")
    page.get_by_label("Password").fill("demo-admin-password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/admin/")
    assert page.get_by_role("navigation", name="Main").is_visible()
    page.goto("/")
    page.get_by_role("link", name=f"{live_server}/readyz").click()
    assert '"status":"ok"' in page.content().replace(" ", "").replace("\n", "")
