"""/api/v1/cluster/*: the monitor's snapshot; tenant admins see their own registrations and calls only."""
from __future__ import annotations

import pytest

from tests.api.conftest import ACME, GLOBEX, assert_error
from tests.monitor.conftest import polled_demo_cluster


@pytest.fixture
def polled(app):
    """The demo cluster polled once, answering as captured."""
    with polled_demo_cluster(app) as cluster:
        yield cluster


def test_nodes_show_state_uptime_profiles_and_registrations(api, polled):
    response = api.get("/cluster/nodes")
    assert response.status_code == 200
    body = response.get_json()
    assert body["polled_at"].endswith("+00:00")
    nodes = {n["name"]: n for n in body["items"]}
    assert {n: v["state"] for n, v in nodes.items()} == {"router-1": "up", "media-1": "up", "media-2": "up"}
    assert nodes["media-2"]["registrations"] == 2
    assert nodes["media-1"]["profiles"][1]["state"] == "RUNNING (1)"
    assert nodes["media-1"]["since"].endswith("+00:00")


def test_gateways_show_state_status_and_ping(api, polled):
    items = api.get("/cluster/gateways").get_json()["items"]
    mine = [g for g in items if g["node"] == "media-1"]
    assert [(g["name"], g["state"], g["status"], g["ping_ms"]) for g in mine] == [("router-router-1", "NOREG", "UP", 1.26)]


def test_nodes_and_gateways_are_not_found_for_a_tenant_admin(api, polled):
    assert_error(api.get("/cluster/nodes", as_="acme"), 404, "not_found")
    assert_error(api.get("/cluster/gateways", as_="acme"), 404, "not_found")


def test_registrations_for_everyone_or_one_tenant(api, polled):
    everyone = api.get("/cluster/registrations").get_json()["items"]
    assert sorted((r["tenant"], r["user"], r["node"]) for r in everyone) == [
        ("acme", "1000", "media-1"), ("globex", "1000", "media-2"), ("initech", "2001", "media-2")]
    one = api.get(f"/cluster/registrations?tenant_id={GLOBEX}").get_json()["items"]
    assert [(r["user"], r["realm"], r["network_port"]) for r in one] == [("1000", "globex.example.com", 40278)]


def test_a_tenant_admin_sees_only_its_own_registrations_and_calls(api, polled):
    regs = api.get("/cluster/registrations", as_="acme").get_json()["items"]
    assert [(r["tenant_id"], r["user"]) for r in regs] == [(ACME, "1000")]
    calls = api.get("/cluster/calls", as_="globex").get_json()["items"]
    assert [(c["tenant"], c["calls"], c["max_calls"]) for c in calls] == [("globex", 1, 50)]
    assert_error(api.get(f"/cluster/registrations?tenant_id={GLOBEX}", as_="acme"), 404, "not_found")
    assert_error(api.get(f"/cluster/calls?tenant_id={ACME}", as_="globex"), 404, "not_found")


def test_calls_per_tenant_and_node_against_limits(api, polled):
    calls = {c["tenant"]: c for c in api.get("/cluster/calls").get_json()["items"]}
    acme = calls["acme"]
    assert (acme["calls"], acme["router_calls"], acme["max_calls"], acme["max_cps"]) == (1, 1, 100, 10)
    assert [(n["node"], n["role"], n["calls"]) for n in acme["nodes"]] == [("router-1", "router", 1), ("media-1", "media", 1)]


def test_a_bad_tenant_filter_is_422(api, polled):
    assert_error(api.get("/cluster/calls?tenant_id=abc"), 422, "invalid", "tenant_id")


def test_before_the_monitor_ever_ran_the_lists_are_empty_and_polled_at_null(api):
    body = api.get("/cluster/registrations").get_json()
    assert body == {"items": [], "polled_at": None}
    assert [n["state"] for n in api.get("/cluster/nodes").get_json()["items"]] == ["unmonitored"] * 3


def test_no_token_is_401(api):
    assert api.get("/cluster/nodes", as_=None).status_code == 401


def test_deleting_a_node_takes_its_snapshot_rows_with_it(app, api, polled):
    assert api.delete("/nodes/1").status_code == 204  # router-1: no tenant is pinned to it
    assert [n["name"] for n in api.get("/cluster/nodes").get_json()["items"]] == ["media-1", "media-2"]
    assert {g["node"] for g in api.get("/cluster/gateways").get_json()["items"]} == {"media-1", "media-2"}
    acme = [c for c in api.get("/cluster/calls").get_json()["items"] if c["tenant"] == "acme"][0]
    assert [n["node"] for n in acme["nodes"]] == ["media-1"]
