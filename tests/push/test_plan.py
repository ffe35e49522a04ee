"""The planner: which node gets which command for a change (pure, no database, no sockets)."""
from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from xmlcurl import config
from xmlcurl.push.plan import (Cluster, EslChange, GatewayChange, NodeChange, NodeInfo, PinningChange, UserChange,
                               full_resync, plan)

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


def test_media_node_change_reloads_the_acls_and_the_other_media_nodes_remote():
    assert commands(plan([NodeChange("media-2", "media")], CLUSTER, SETTINGS)) == {
        "router-1": ("reloadacl",),
        "media-1": ("reloadacl", "hash_remote kill media-2", "hash_remote rescan"),
    }


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
        "media-2": ("reloadacl", "hash_remote kill media-1", "hash_remote rescan",
                    "xml_flush_cache id 1001 globex.example.com"),
    }


@pytest.mark.parametrize("name", ["bad name", "x\nsofia profile carrier stop", "", "-ERR"])
def test_names_that_cannot_be_one_command_argument_are_skipped(name):
    assert plan([GatewayChange(name), UserChange(1, name)], CLUSTER, SETTINGS) == []


def test_profile_names_come_from_the_settings():
    settings = {**SETTINGS, "CARRIER_PROFILE": "external", "CLUSTER_PROFILE": "tandem", "ROUTER_GATEWAY_PREFIX": "rt-"}
    assert commands(plan([GatewayChange("c"), NodeChange("r", "router")], CLUSTER, settings)) == {
        "router-1": ("sofia profile external killgw c", "sofia profile external rescan", "hash_remote kill r",
                     "hash_remote rescan"),
        "media-1": ("reloadacl", "sofia profile tandem killgw rt-r", "sofia profile tandem rescan"),
        "media-2": ("reloadacl", "sofia profile tandem killgw rt-r", "sofia profile tandem rescan"),
    }


def test_full_resync_reloads_acls_every_gateway_and_the_remotes_of_each_enabled_node():
    remotes = ("hash_remote list", "hash_remote rescan")
    assert commands(full_resync(CLUSTER, SETTINGS)) == {
        "router-1": ("reloadacl", "sofia profile carrier killgw _all_", "sofia profile carrier rescan", *remotes),
        "media-1": ("reloadacl", "sofia profile cluster killgw _all_", "sofia profile cluster rescan", *remotes),
        "media-2": ("reloadacl", "sofia profile cluster killgw _all_", "sofia profile cluster rescan", *remotes),
    }


def test_full_resync_keeps_only_the_remotes_hash_conf_gives_each_node():
    with_esl = Cluster(tuple(NodeInfo(n.id, n.name, n.role, n.address, n.enabled, 8021, "token")
                             for n in CLUSTER.nodes) + (NodeInfo(5, "media-3", "media", "127.0.0.13"),))
    keep = {p.node.name: p.keep_remotes for p in full_resync(with_esl, SETTINGS)}
    # router-2 is disabled; media-3 has no event-socket credentials.
    assert keep == {"router-1": frozenset(), "media-1": {"media-2"}, "media-2": {"media-1"}, "media-3": {"media-1", "media-2"}}


def test_full_resync_of_one_named_node_even_when_disabled():
    assert list(commands(full_resync(CLUSTER, SETTINGS, "router-2"))) == ["router-2"]
    assert full_resync(CLUSTER, SETTINGS, "nope") == []


# --- routers as a fleet, pinning, event-socket credentials (issue 14) ------------------------------

FLEET = Cluster(
    (ROUTER, NodeInfo(5, "router-3", "router", "127.0.0.15"), ROUTER_OFF, MEDIA1, MEDIA2),
    tenant_media={3: frozenset({2, 3})},
)


def test_an_added_router_reaches_every_media_node_and_the_other_routers_remotes():
    gateway = ("reloadacl", "sofia profile cluster killgw router-router-9", "sofia profile cluster rescan")
    assert commands(plan([NodeChange("router-9", "router")], FLEET, SETTINGS)) == {
        "router-1": ("hash_remote kill router-9", "hash_remote rescan"),
        "router-3": ("hash_remote kill router-9", "hash_remote rescan"),
        "media-1": gateway, "media-2": gateway,
    }


def test_a_disabled_or_removed_router_is_killed_everywhere_and_gets_nothing_itself():
    # router-2 is disabled (or gone): the cluster no longer lists it as enabled.
    gateway = ("reloadacl", "sofia profile cluster killgw router-router-2", "sofia profile cluster rescan")
    assert commands(plan([NodeChange("router-2", "router")], FLEET, SETTINGS)) == {
        "router-1": ("hash_remote kill router-2", "hash_remote rescan"),
        "router-3": ("hash_remote kill router-2", "hash_remote rescan"),
        "media-1": gateway, "media-2": gateway,
    }


def test_a_renamed_router_kills_both_names():
    plans = commands(plan([NodeChange("router-4", "router", old_name="router-3")], FLEET, SETTINGS))
    assert plans["router-1"] == ("hash_remote kill router-3", "hash_remote kill router-4", "hash_remote rescan")
    assert plans["media-1"] == ("reloadacl", "sofia profile cluster killgw router-router-3",
                                "sofia profile cluster killgw router-router-4", "sofia profile cluster rescan")


def test_new_event_socket_credentials_replace_the_remote_on_the_nodes_of_its_role_only():
    assert commands(plan([EslChange("router-1", "router")], FLEET, SETTINGS)) == {
        "router-3": ("hash_remote kill router-1", "hash_remote rescan"),
    }
    assert commands(plan([EslChange("media-2", "media")], FLEET, SETTINGS)) == {
        "media-1": ("hash_remote kill media-2", "hash_remote rescan"),
    }


def test_a_pinning_change_reloads_the_acls_of_the_node_and_the_tenants_media_nodes():
    # initech (3) is pinned to media-1 and media-2; pinning it to (or unpinning it from) media-4.
    media4 = NodeInfo(6, "media-4", "media", "127.0.0.16")
    cluster = Cluster(FLEET.nodes + (media4,), tenant_media={3: frozenset({2, 3})})
    assert commands(plan([PinningChange(3, 6)], cluster, SETTINGS)) == {
        "media-1": ("reloadacl",), "media-2": ("reloadacl",), "media-4": ("reloadacl",),
    }


def test_an_unpinned_node_drops_its_cached_users_when_users_are_cacheable():
    cluster = Cluster(FLEET.nodes, tenant_media={1: frozenset()})
    assert commands(plan([PinningChange(1, 2)], cluster, {**SETTINGS, "DIRECTORY_CACHEABLE_MS": 5000})) == {
        "media-1": ("reloadacl", "xml_flush_cache"),
    }


@st.composite
def fleets(draw):
    """A cluster of 1-6 routers and 1-6 media nodes, some disabled, with random pinning, and a node that changed."""
    nodes, next_id = [], 1
    for role, count in (("router", draw(st.integers(1, 6))), ("media", draw(st.integers(1, 6)))):
        for i in range(count):
            nodes.append(NodeInfo(next_id, f"{role}-{i}", role, f"10.0.0.{next_id}", enabled=draw(st.booleans())))
            next_id += 1
    media_ids = [n.id for n in nodes if n.role == "media"]
    pinning = {t: frozenset(draw(st.sets(st.sampled_from(media_ids), max_size=len(media_ids)))) for t in range(3)}
    changed = draw(st.sampled_from(nodes))
    return Cluster(tuple(nodes), tenant_media=pinning), changed


@given(fleets())
@hyp_settings(max_examples=200, deadline=None)
def test_a_node_change_reaches_exactly_the_enabled_nodes_that_hold_it(fleet):
    cluster, changed = fleet
    plans = commands(plan([NodeChange(changed.name, changed.role)], cluster, SETTINGS))
    peers = {n.name for n in cluster.enabled(changed.role) if n.name != changed.name}
    # Its mod_hash remote is replaced on every other enabled node of its role, and only there.
    assert {name for name, cmds in plans.items() if f"hash_remote kill {changed.name}" in cmds} == peers
    for name, cmds in plans.items():
        assert name in {n.name for n in cluster.enabled("router")} | {n.name for n in cluster.enabled("media")}
        if f"hash_remote kill {changed.name}" in cmds:
            assert cmds.index(f"hash_remote kill {changed.name}") < cmds.index("hash_remote rescan")
    if changed.role == "router":
        # Every enabled media node drops and re-reads its gateway to the router, after reloading its ACLs.
        for media in cluster.enabled("media"):
            assert plans[media.name][:1] == ("reloadacl",)
            assert f"sofia profile cluster killgw router-{changed.name}" in plans[media.name]
            assert "sofia profile cluster rescan" in plans[media.name]


@given(fleets(), st.integers(0, 2))
@hyp_settings(max_examples=200, deadline=None)
def test_a_pinning_change_reloads_the_acls_of_the_tenants_enabled_media_nodes_only(fleet, tenant):
    cluster, changed = fleet
    assume(changed.role == "media")
    plans = commands(plan([PinningChange(tenant, changed.id)], cluster, SETTINGS))
    expected = {n.name for n in cluster.enabled("media")
                if n.id == changed.id or n.id in cluster.tenant_media[tenant]}
    assert plans == {name: ("reloadacl",) for name in expected}
