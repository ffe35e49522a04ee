"""The planner: which node gets which command for a change (pure, no database, no sockets)."""
from __future__ import annotations

import pytest

from xmlcurl import config
from xmlcurl.push.plan import Cluster, GatewayChange, NodeChange, NodeInfo, UserChange, full_resync, plan

SETTINGS = config.load(environ={}, overrides={"ENV": "testing"})
ROUTER = NodeInfo(1, "router-1", "router", "127.0.0.10")
ROUTER_OFF = NodeInfo(4, "router-2", "router", "127.0.0.14", enabled=False)
MEDIA1 = NodeInfo(2, "media-1", "media", "127.0.0.11")
MEDIA2 = NodeInfo(3, "media-2", "media", "127.0.0.12")
CLUSTER = Cluster(
    (ROUTER, ROUTER_OFF, MEDIA1, MEDIA2),
    tenant_media={1: frozenset({2}), 2: frozenset({3}), 3: frozenset({2, 3})},
    tenant_domains={1: "acme.example.com", 2: "globex.example.com", 3: "initech.example.com"},
)


def commands(plans) -> dict[str, tuple[str, ...]]:
    return {p.node.name: p.commands for p in plans}


def test_changed_gateway_is_killed_then_rescanned_on_every_enabled_router():
    assert commands(plan([GatewayChange("carrier-a")], CLUSTER, SETTINGS)) == {
        "router-1": ("sofia profile carrier killgw carrier-a", "sofia profile carrier rescan"),
    }


def test_renamed_gateway_kills_both_names_and_reloads_acls_when_addresses_changed():
    assert commands(plan([GatewayChange("carrier-z", old_name="carrier-a", acl=True)], CLUSTER, SETTINGS)) == {
        "router-1": ("reloadacl", "sofia profile carrier killgw carrier-a", "sofia profile carrier killgw carrier-z",
                     "sofia profile carrier rescan"),
    }


def test_user_change_flushes_the_user_on_the_tenants_media_nodes_only():
    assert commands(plan([UserChange(1, "1000")], CLUSTER, SETTINGS)) == {
        "media-1": ("xml_flush_cache id 1000 acme.example.com",),
    }
    assert commands(plan([UserChange(3, "2000")], CLUSTER, SETTINGS)) == {
        "media-1": ("xml_flush_cache id 2000 initech.example.com",),
        "media-2": ("xml_flush_cache id 2000 initech.example.com",),
    }


def test_media_node_change_reloads_the_routers_acls():
    assert commands(plan([NodeChange("media-2", "media")], CLUSTER, SETTINGS)) == {"router-1": ("reloadacl",)}


def test_router_change_reloads_acls_and_the_router_gateway_on_every_media_node():
    expected = ("reloadacl", "sofia profile cluster killgw router-router-1", "sofia profile cluster rescan")
    assert commands(plan([NodeChange("router-1", "router")], CLUSTER, SETTINGS)) == {
        "media-1": expected, "media-2": expected,
    }


def test_several_changes_merge_into_one_ordered_list_per_node_without_repeats():
    changes = [GatewayChange("carrier-a"), GatewayChange("carrier-b", acl=True), GatewayChange("carrier-a"),
               NodeChange("media-1", "media"), UserChange(2, "1001"), UserChange(2, "1001")]
    assert commands(plan(changes, CLUSTER, SETTINGS)) == {
        "router-1": ("reloadacl", "sofia profile carrier killgw carrier-a", "sofia profile carrier killgw carrier-b",
                     "sofia profile carrier rescan"),
        "media-2": ("xml_flush_cache id 1001 globex.example.com",),
    }


@pytest.mark.parametrize("name", ["bad name", "x\nsofia profile carrier stop", "", "-ERR"])
def test_names_that_cannot_be_one_command_argument_are_skipped(name):
    assert plan([GatewayChange(name), UserChange(1, name)], CLUSTER, SETTINGS) == []


def test_profile_names_come_from_the_settings():
    settings = {**SETTINGS, "CARRIER_PROFILE": "external", "CLUSTER_PROFILE": "tandem", "ROUTER_GATEWAY_PREFIX": "rt-"}
    assert commands(plan([GatewayChange("c"), NodeChange("r", "router")], CLUSTER, settings)) == {
        "router-1": ("sofia profile external killgw c", "sofia profile external rescan"),
        "media-1": ("reloadacl", "sofia profile tandem killgw rt-r", "sofia profile tandem rescan"),
        "media-2": ("reloadacl", "sofia profile tandem killgw rt-r", "sofia profile tandem rescan"),
    }


def test_full_resync_reloads_acls_and_every_gateway_of_each_enabled_node():
    assert commands(full_resync(CLUSTER, SETTINGS)) == {
        "router-1": ("reloadacl", "sofia profile carrier killgw _all_", "sofia profile carrier rescan"),
        "media-1": ("reloadacl", "sofia profile cluster killgw _all_", "sofia profile cluster rescan"),
        "media-2": ("reloadacl", "sofia profile cluster killgw _all_", "sofia profile cluster rescan"),
    }


def test_full_resync_of_one_named_node_even_when_disabled():
    assert list(commands(full_resync(CLUSTER, SETTINGS, "router-2"))) == ["router-2"]
    assert full_resync(CLUSTER, SETTINGS, "nope") == []
