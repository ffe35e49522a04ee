"""The cluster monitor's pages in a real Chromium: the live dashboard, and the down banner coming and going without a reload."""
from __future__ import annotations

import pytest

from tests.monitor.conftest import PASSWORD, polled_demo_cluster
from tests.push.esl_double import EslDouble
from xmlcurl import create_app

from ..conftest import BASE_SETTINGS
from .test_browser import SHOTS, browser, database_url, live_server, page, sign_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_cluster(database_url):
    """The demo nodes answering as captured, their event sockets stored in the live server's database, polled once."""
    app = create_app({**BASE_SETTINGS, "DATABASE_URL": database_url})
    with polled_demo_cluster(app) as cluster:
        yield cluster
    app.extensions["xmlcurl.db"].dispose()


@pytest.fixture
def refresh_every_second(monkeypatch):
    """The live parts refresh every second (the script's floor) instead of every 5 s: the test waits
    for the banner to come and to go, which took some 10 s of the test's 12 at the shipped rate."""
    import admin.views.cluster

    monkeypatch.setattr(admin.views.cluster, "REFRESH_SECONDS", 1)


def test_dashboard_shows_the_cluster_and_the_banner_comes_and_goes_live(page, demo_cluster, backend_name,
                                                                        refresh_every_second):
    sign_in(page)
    cluster = page.locator("section#cluster")
    assert "media-1 media UP" in " ".join(cluster.locator("table.cluster-nodes tr[data-node='media-1']").inner_text().split())
    gateway = cluster.locator("tr[data-gateway='router-router-1'][data-node='media-1']").inner_text()
    assert "NOREG" in gateway and "UP" in gateway and "1.26 ms" in gateway
    assert "1 / 100" in cluster.locator("tr[data-tenant='acme']").inner_text()
    assert page.locator(".cluster-banner").count() == 0
    if backend_name == "sqlite":
        page.screenshot(path=str(SHOTS / "xmlcurl-monitor-dashboard.png"), full_page=True)

    # media-2 stops answering: after two missed polls the banner appears on the open page, no reload.
    demo_cluster.serve("media-2", EslDouble("127.0.0.1", PASSWORD, greet=False))
    demo_cluster.poll()
    demo_cluster.poll()
    banner = page.locator(".cluster-banner")
    banner.wait_for(timeout=20_000)
    assert "node media-2 (media) since" in banner.inner_text()
    page.locator("table.cluster-nodes tr[data-node='media-2'] .state.down").wait_for(timeout=20_000)
    if backend_name == "sqlite":
        page.screenshot(path=str(SHOTS / "xmlcurl-monitor-banner.png"), full_page=True)

    # On every page until it is back.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="SIP users").click()
    assert "node media-2" in page.locator(".cluster-banner").inner_text()
    demo_cluster.serve_captured("media-2")
    demo_cluster.poll()
    page.locator(".cluster-banner").wait_for(state="detached", timeout=20_000)


@pytest.fixture
def backend_name(database_url) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "mysql"
