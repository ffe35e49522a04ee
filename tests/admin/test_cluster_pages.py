"""The running cluster in the admin: dashboard, tenant page, the down banner, live fragments, route test and preview warnings."""
from __future__ import annotations

import re

import pytest

from tests.admin.conftest import ACME_ADMIN, login, make_tenant_admin, post
from tests.monitor.conftest import PASSWORD, polled_demo_cluster
from tests.push.esl_double import EslDouble


@pytest.fixture
def polled(app):
    """The demo cluster polled once, answering as captured."""
    with polled_demo_cluster(app) as cluster:
        yield cluster


def text(response) -> str:
    return _flat(response.get_data(as_text=True))


def _flat(html: str) -> str:
    return re.sub(r" ([,:.;])", r"\1", re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).strip()


def row(html: str, marker: str) -> str:
    match = re.search(rf'<tr {marker}>(.*?)</tr>', html, re.S)
    assert match, marker
    return _flat(match.group(1))


def test_dashboard_shows_nodes_gateways_and_calls(superadmin, polled):
    html = superadmin.get("/admin/").get_data(as_text=True)
    assert row(html, 'data-node="media-1"').startswith("media-1 media up")
    assert "cluster RUNNING (1), internal RUNNING (1)" in row(html, 'data-node="media-1"')
    assert row(html, 'data-node="media-2"').endswith("1 2")  # calls now, registrations
    assert "router-router-1 media-1 cluster NOREG UP 1.26 ms" in row(html, 'data-gateway="router-router-1" data-node="media-1"')
    assert row(html, 'data-tenant="acme"').startswith("acme 1 / 100 1 0 / 10 router-1: 1, media-1: 1 1")
    assert "Down now" not in html
    assert "last poll" in html


def test_dashboard_before_the_monitor_ran_says_so(superadmin):
    assert "has never polled" in text(superadmin.get("/admin/"))


def test_a_tenant_admin_sees_its_own_calls_and_registrations_only(app, polled):
    make_tenant_admin(app, *ACME_ADMIN, tenant_id=1)
    client = app.test_client()
    login(client, *ACME_ADMIN)
    html = client.get("/admin/").get_data(as_text=True)
    assert 'data-tenant="acme"' in html and 'data-tenant="globex"' not in html
    assert "1000@acme.example.com" in html and "globex.example.com" not in html and "initech" not in html
    assert 'data-node=' not in html and 'data-gateway=' not in html
    live = client.get("/admin/cluster/live/overview").get_data(as_text=True)
    assert "1000@acme.example.com" in live and "globex" not in live
    assert client.get("/admin/cluster/live/tenant/2").status_code == 404
    # Its own tenant's workspace refreshes its live part too.
    own = client.get("/admin/cluster/live/tenant/1")
    assert own.status_code == 200 and "globex" not in own.get_data(as_text=True)


def test_tenant_page_shows_where_its_users_are_registered_and_its_calls_per_node(superadmin, polled):
    page = text(superadmin.get("/admin/tenants/3"))  # initech: registered on media-2, pinned to media-1 and media-2
    assert "initech on the cluster now" in page
    assert "2001@initech.example.com media-2 sip:2001@127.0.0.1:36992;transport=udp" in page
    assert "media-1: up" in page and "media-2: up" in page
    acme = text(superadmin.get("/admin/tenants/1"))
    assert "1 of 100 calls on its media nodes; 1 through the routers; 0 of 10 calls per second." in acme
    assert "media-1 media 1 100" in acme and "router-1 router 1 100 per router" in acme
    fragment = text(superadmin.get("/admin/cluster/live/tenant/1"))
    assert "1000@acme.example.com" in fragment


def test_a_down_node_is_a_banner_on_every_page_until_it_is_back(app, superadmin, polled):
    polled.serve("media-2", EslDouble("127.0.0.1", PASSWORD, greet=False))
    polled.poll()
    assert "Down now" not in text(superadmin.get("/admin/"))  # one missed poll is not down yet
    polled.poll()
    for path in ("/admin/", "/admin/tenants/", "/admin/audit/", "/admin/route-test"):
        page = text(superadmin.get(path))
        assert "Down now: node media-2 (media) since" in page, path
    assert "media-2" in text(superadmin.get("/admin/cluster/live/banner"))
    polled.serve_captured("media-2")
    polled.poll()
    assert "Down now" not in text(superadmin.get("/admin/"))
    assert text(superadmin.get("/admin/cluster/live/banner")).strip() == ""


def test_a_down_gateway_is_a_banner_for_the_superadmin(superadmin, polled):
    polled.serve_captured("media-1", "media-1-router-down")
    polled.poll()
    assert "Down now: gateway router-router-1 on media-1: pings fail since" in text(superadmin.get("/admin/sip-users/"))


def test_a_tenant_admin_banner_names_its_own_media_nodes_only(app, polled):
    make_tenant_admin(app, *ACME_ADMIN, tenant_id=1)  # acme is pinned to media-1 only
    client = app.test_client()
    login(client, *ACME_ADMIN)
    polled.serve("media-2", EslDouble("127.0.0.1", PASSWORD, greet=False))
    polled.serve_captured("media-1", "media-1-router-down")
    polled.poll()
    polled.poll()
    assert "Down now" not in text(client.get("/admin/"))
    polled.serve("media-1", EslDouble("127.0.0.1", PASSWORD, greet=False))
    polled.poll()
    polled.poll()
    page = text(client.get("/admin/"))
    assert "node media-1" in page and "media-2" not in page and "gateway" not in page


def test_route_test_warns_when_a_legs_gateway_is_down_on_every_router(superadmin, polled):
    quiet = text(superadmin.get("/admin/route-test?tenant=acme&number=8613800138000"))
    assert "is down on every router" not in quiet
    polled.serve_captured("router-1", overrides={"sofia xmlstatus gateway": (
        (polled_answer("router-1", "sofia_xmlstatus_gateway")).replace("<status>UP</status>", "<status>DOWN</status>", 1))})
    polled.poll()
    page = text(superadmin.get("/admin/route-test?tenant=acme&number=8613800138000"))
    assert "Gateway carrier-b is down on every router (router-1): calls on this leg fail over to the next one." in page
    assert "Gateway carrier-a is down" not in page


def test_route_test_and_preview_say_when_the_tenants_media_nodes_are_all_down(superadmin, polled):
    polled.serve("media-1", EslDouble("127.0.0.1", PASSWORD, greet=False))
    polled.poll()
    polled.poll()
    page = text(superadmin.get("/admin/route-test?tenant=acme&number=8613800138000"))
    assert "Every media node of tenant acme is down (media-1): its users cannot register or call now." in page
    assert "Every media node of tenant initech" not in text(superadmin.get("/admin/route-test?tenant=initech&number=1"))
    preview = text(post(superadmin, "/admin/preview", {"node": "media-1", "mode": "directory", "domain": "acme.example.com",
                                                       "user": "1000", "action": "sip_auth", "config": "sofia.conf"}))
    assert "Every media node of tenant acme is down (media-1)" in preview
    other = text(post(superadmin, "/admin/preview", {"node": "media-2", "mode": "directory", "domain": "globex.example.com",
                                                     "user": "1000", "action": "sip_auth", "config": "sofia.conf"}))
    assert "Every media node" not in other


def polled_answer(folder: str, name: str) -> str:
    from tests.monitor.conftest import ESL

    return (ESL / folder / f"{name}.txt").read_text(encoding="utf-8")


def test_a_snapshot_the_monitor_stopped_renewing_is_flagged(app, superadmin, polled):
    import datetime as dt

    from xmlcurl import db
    from xmlcurl.models import ClusterNodeState

    assert "monitor has not polled" not in text(superadmin.get("/admin/"))
    with app.app_context():
        session = db.session()
        long_ago = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=2)
        session.execute(ClusterNodeState.__table__.update().values(polled_at=long_ago))
        session.commit()
    page = text(superadmin.get("/admin/tokens/"))
    assert "Down now: the monitor has not polled since" in page and "is xmlcurl monitor running?" in page


def test_a_long_registration_list_is_cut_with_its_total(app, superadmin, polled, monkeypatch):
    from admin.views import cluster as cluster_views

    monkeypatch.setattr(cluster_views, "SHOWN_REGISTRATIONS", 1)
    page = text(superadmin.get("/admin/tenants/3"))
    assert "2001@initech.example.com" in page
    assert "The first 1 of 1 registrations" not in page  # nothing cut: no note
    polled.serve_captured("media-1", overrides={"show registrations as json": polled_answer("media-2", "show_registrations_as_json")
                                                .replace("media-2", "media-1").replace("36992", "36993")})
    polled.poll()
    page = text(superadmin.get("/admin/tenants/3"))
    assert "The first 1 of 2 registrations" in page
