"""Calls between users of one tenant on different media nodes (issue 14), on the demo data.

initech is pinned to media-1 (weight 100) and media-2 (weight 50); acme only to media-1, globex only
to media-2. The caller's node rings its own registration first, then the tenant's other media nodes
over the cluster profile; the receiving node rings only its own registration.
"""
from __future__ import annotations

import pytest
from lxml import etree
from sqlalchemy import delete, insert, select, update

from tests.conftest import cluster_body, retarget
from tests.fetch.test_acl import lists
from tests.fetch.test_dialplan_builders import Answer, assert_rejected, bridge_of, parse_answer
from tests.fetch.test_dialplan_media import HOSTILE_NUMBERS, media_call
from tests.freeswitch_rules import action_data, assert_freeswitch_can_read
from xmlcurl.fetch.dialplan.extension import FINAL_CAUSES, USER_FINAL_CAUSES, Action, check_action
from xmlcurl.fetch.dialplan.media import build_user_call
from xmlcurl.fetch.dialplan.data import NodeInfo
from xmlcurl.models import Node, SipUser, Tenant, TenantNode
from xmlcurl.secrets import hash_node_secret

ADDRESS = {"media-1": "127.0.0.11", "media-2": "127.0.0.12", "router-1": "127.0.0.10"}
RING = "[leg_timeout=30]"
TO_MEDIA_2 = "[leg_timeout=30][leg_progress_timeout=10][sip_h_X-Tenant=initech]sofia/cluster/1000@127.0.0.12:5080"
TO_MEDIA_1 = "[leg_timeout=30][leg_progress_timeout=10][sip_h_X-Tenant=initech]sofia/cluster/1000@127.0.0.11:5080"


def peer_call(number: str, x_tenant: str = "initech", node: str = "media-2", source: str = "127.0.0.11",
              **extra: str) -> bytes:
    """A call arriving on `node`'s cluster profile (context from-router) from the node at `source`."""
    return retarget(cluster_body("media-1_dialplan_from-router_did"), hostname=node, **{
        "Hunt-Destination-Number": number, "Caller-Destination-Number": number,
        "variable_sip_network_ip": source, "Caller-Network-Addr": source, "Hunt-Network-Addr": source,
        "variable_sip_h_X-Tenant": x_tenant, "variable_sip_local_network_addr": ADDRESS.get(node, ""), **extra})


def answer(fetch, body: bytes, node: str) -> Answer:
    response = fetch(body, node=node)
    assert response.status_code == 200
    assert_freeswitch_can_read(response.data)
    return parse_answer(response.data)


def add_media_node(session, name: str, address: str, pins: dict[str, int], enabled: bool = True) -> None:
    session.execute(insert(Node).values(name=name, role="media", sip_address=address, http_username=name,
                                        http_secret_hash=hash_node_secret(f"{name}-secret"), enabled=enabled))
    node_id = session.scalar(select(Node.id).where(Node.name == name))
    for code, weight in pins.items():
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.code == code))
        session.execute(insert(TenantNode).values(tenant_id=tenant_id, node_id=node_id, weight=weight))
    session.commit()


# --- the calling node ------------------------------------------------------------------------------

def test_a_user_call_rings_the_local_registration_then_the_tenants_other_media_node(fetch):
    got = answer(fetch, media_call("initech", "1000", "media-1", user="2000"), "media-1")
    assert (got.context, got.extension, got.expression) == ("tenant-initech", "user", "^1000$")
    assert got.actions == [
        ("set", "tenant=initech"),
        ("set", "sip_copy_custom_headers=false"),
        ("set", "hangup_after_bridge=true"),
        ("set", "call_timeout=30"),
        ("set", f"fail_on_single_reject={USER_FINAL_CAUSES}"),
        ("bridge", f"{RING}user/1000@initech.example.com|{TO_MEDIA_2}"),
    ]


def test_from_the_other_node_the_local_registration_still_comes_first(fetch):
    got = answer(fetch, media_call("initech", "1000", "media-2", user="2000"), "media-2")
    assert bridge_of(got) == f"{RING}user/1000@initech.example.com|{TO_MEDIA_1}"


def test_other_media_nodes_follow_in_pinning_weight_order_and_disabled_ones_are_left_out(fetch, session):
    add_media_node(session, "media-3", "127.0.0.13", {"initech": 70})
    add_media_node(session, "media-4", "127.0.0.14", {"initech": 90}, enabled=False)
    add_media_node(session, "media-5", "2001:db8::5", {"initech": 10})
    legs = bridge_of(answer(fetch, media_call("initech", "1001", "media-2"), "media-2")).split("|")
    assert [leg.rsplit("sofia/cluster/", 1)[-1] for leg in legs] == [
        f"{RING}user/1001@initech.example.com", "1001@127.0.0.11:5080", "1001@127.0.0.13:5080",
        "1001@[2001:db8::5]:5080"]
    legs = bridge_of(answer(fetch, media_call("initech", "1001", "media-1"), "media-1")).split("|")
    assert [leg.rsplit("@", 1)[-1] for leg in legs] == [
        "initech.example.com", "127.0.0.13:5080", "127.0.0.12:5080", "[2001:db8::5]:5080"]


def test_a_tenant_on_one_media_node_rings_only_its_local_registration(fetch):
    got = answer(fetch, media_call("acme", "1002", "media-1"), "media-1")
    assert bridge_of(got) == f"{RING}user/1002@acme.example.com"


def test_the_callers_own_x_tenant_header_never_reaches_another_node(fetch):
    body = media_call("initech", "1000", "media-1", user="2000", **{"variable_sip_h_X-Tenant": "acme"})
    bridge = bridge_of(answer(fetch, body, "media-1"))
    assert "X-Tenant=initech" in bridge and "acme" not in bridge


def test_an_esl_transfer_into_the_tenants_context_runs_the_same_answer(fetch):
    # uuid_transfer <uuid> 1000 XML tenant-initech: the hunt fields carry the new destination.
    body = media_call("initech", "1000", "media-1", user="2000",
                      **{"Caller-Destination-Number": "8613800138000", "Hunt-Destination-Number": "1000"})
    assert bridge_of(answer(fetch, body, "media-1")) == f"{RING}user/1000@initech.example.com|{TO_MEDIA_2}"


def test_a_disabled_user_is_not_rung_anywhere(fetch, session):
    session.execute(update(SipUser).where(SipUser.tenant_id == 3, SipUser.username == "1000").values(enabled=False))
    session.commit()
    response = fetch(media_call("initech", "1000", "media-1", user="2000"), node="media-1")
    # Not a user any more: the number is treated as any other number the tenant dials.
    assert not any("user/" in data or "sofia/cluster" in data for data in action_data(etree.fromstring(response.data)))


def test_a_call_forwarded_to_this_node_and_transferred_into_the_tenant_context_is_refused(fetch):
    # A call that already crossed arrives on the cluster profile: it is never sent on again.
    body = media_call("initech", "1000", "media-2", variable_sofia_profile_name="cluster")
    assert_rejected(answer(fetch, body, "media-2"), "tenant-initech", 403)


# --- the receiving node -----------------------------------------------------------------------------

def test_a_forwarded_call_rings_only_the_local_registration(fetch):
    got = answer(fetch, peer_call("1000"), "media-2")
    assert (got.context, got.extension, got.expression) == ("from-router", "cluster-user", "^1000$")
    assert got.actions == [
        ("set", "tenant=initech"),
        ("set", "sip_copy_custom_headers=false"),
        ("set", "hangup_after_bridge=true"),
        # Longer than the sending node's 30 s: its timer, not this node's 480, ends an unanswered call.
        ("set", "call_timeout=35"),
        ("bridge", "user/1000@initech.example.com"),
    ]


def test_a_forwarded_call_is_accepted_in_both_directions(fetch):
    got = answer(fetch, peer_call("2001", node="media-1", source="127.0.0.12"), "media-1")
    assert bridge_of(got) == "user/2001@initech.example.com"


@pytest.mark.parametrize("x_tenant, node, source, why", [
    ("globex", "media-2", "127.0.0.11", "tenant not pinned to the calling node"),
    ("acme", "media-2", "127.0.0.11", "tenant not pinned to this node"),
    ("acme", "media-1", "127.0.0.12", "tenant not pinned to the calling node"),
    ("", "media-2", "127.0.0.11", "no X-Tenant"),
    ("Initech", "media-2", "127.0.0.11", "not the stored code"),
    ("nosuch", "media-2", "127.0.0.11", "no such tenant"),
    ("initech", "media-2", "127.0.0.12", "from this node's own address"),
    ("initech", "media-2", "127.0.0.99", "from an address no node has"),
    ("initech", "media-2", "not-an-ip", "from no address"),
])
def test_a_forwarded_call_outside_the_tenants_pinned_nodes_is_refused(fetch, x_tenant, node, source, why):
    assert_rejected(answer(fetch, peer_call("1000", x_tenant, node, source), node), "from-router", 403)


def test_a_call_from_a_router_is_a_did_never_a_user_call(fetch):
    got = answer(fetch, peer_call("1000", source="127.0.0.10"), "media-2")
    assert_rejected(got, "from-router", 404)


def test_a_media_node_cannot_send_a_did_to_another_node(fetch):
    # 8610000003 is initech's DID for 2000: only a router's call is a DID.
    assert_rejected(answer(fetch, peer_call("8610000003"), "media-2"), "from-router", 404)


def test_a_forwarded_call_for_a_user_of_another_tenant_is_refused(fetch, session):
    session.execute(insert(SipUser).values(tenant_id=2, username="7777", kind="agent", a1_hash="0" * 32))
    session.commit()
    assert_rejected(answer(fetch, peer_call("7777"), "media-2"), "from-router", 404)


def test_a_forwarded_call_for_a_disabled_user_or_tenant_is_refused(fetch, session):
    session.execute(update(SipUser).where(SipUser.tenant_id == 3, SipUser.username == "1000").values(enabled=False))
    session.commit()
    assert_rejected(answer(fetch, peer_call("1000"), "media-2"), "from-router", 404)
    session.execute(update(Tenant).where(Tenant.code == "initech").values(enabled=False))
    session.commit()
    assert_rejected(answer(fetch, peer_call("1001"), "media-2"), "from-router", 403)


def test_a_forwarded_call_from_a_disabled_media_node_is_refused(fetch, session):
    session.execute(update(Node).where(Node.name == "media-1").values(enabled=False))
    session.commit()
    assert_rejected(answer(fetch, peer_call("1000"), "media-2"), "from-router", 403)


@pytest.mark.parametrize("number", HOSTILE_NUMBERS)
def test_hostile_numbers_from_another_node_are_refused_without_caller_text(fetch, number):
    got = answer(fetch, peer_call(number), "media-2")
    assert_rejected(got, "from-router", 404)
    assert all(number not in data for _, data in got.actions if number)


def test_a_hostile_x_tenant_is_refused_without_echoing_it(fetch):
    got = answer(fetch, peer_call("1000", "initech|sofia/x"), "media-2")
    assert_rejected(got, "from-router", 403)
    assert all("sofia/x" not in data for _, data in got.actions)


# --- changes reach the next call --------------------------------------------------------------------

def test_a_removed_pinning_takes_the_node_out_of_both_answers_and_the_acl(fetch, session):
    assert bridge_of(answer(fetch, media_call("initech", "1000", "media-1"), "media-1")).endswith(TO_MEDIA_2)
    assert bridge_of(answer(fetch, peer_call("1000"), "media-2")) == "user/1000@initech.example.com"
    session.execute(delete(TenantNode).where(TenantNode.tenant_id == 3, TenantNode.node_id == 3))
    session.commit()
    assert bridge_of(answer(fetch, media_call("initech", "1000", "media-1"), "media-1")) == \
        f"{RING}user/1000@initech.example.com"
    assert_rejected(answer(fetch, peer_call("1000"), "media-2"), "from-router", 403)
    assert media_peers(fetch, "media-1") == [("deny", "0.0.0.0/0")]


def test_a_new_pinning_adds_the_node_to_both_answers_and_the_acl(fetch, session):
    session.execute(insert(TenantNode).values(tenant_id=1, node_id=3, weight=10))  # acme on media-2 too
    session.commit()
    bridge = bridge_of(answer(fetch, media_call("acme", "1000", "media-1"), "media-1"))
    assert bridge.endswith("[sip_h_X-Tenant=acme]sofia/cluster/1000@127.0.0.12:5080")
    assert bridge_of(answer(fetch, peer_call("1000", "acme"), "media-2")) == "user/1000@acme.example.com"


# --- acl.conf ---------------------------------------------------------------------------------------

def media_peers(fetch, node: str) -> list[tuple[str, str]]:
    response = fetch(retarget(cluster_body("media-1_acl.conf"), hostname=node), node=node)
    assert response.status_code == 200
    return lists(response.data)["media-peers"]


def test_media_nodes_sharing_a_tenant_admit_each_other_and_no_one_else(fetch, session):
    add_media_node(session, "media-3", "127.0.0.13", {"globex": 100})
    add_media_node(session, "media-4", "127.0.0.14", {})
    assert media_peers(fetch, "media-1") == [("allow", "127.0.0.12/32")]
    assert media_peers(fetch, "media-2") == [("allow", "127.0.0.11/32"), ("allow", "127.0.0.13/32")]
    assert media_peers(fetch, "media-3") == [("allow", "127.0.0.12/32")]
    # A media node sharing no tenant is admitted nowhere, and admits no one.
    assert media_peers(fetch, "media-4") == [("deny", "0.0.0.0/0")]


def test_a_disabled_media_node_leaves_its_peers_lists(fetch, session):
    session.execute(update(Node).where(Node.name == "media-2").values(enabled=False))
    session.commit()
    assert media_peers(fetch, "media-1") == [("deny", "0.0.0.0/0")]


# --- the builder and FreeSWITCH's reading of it -----------------------------------------------------

def test_every_leg_carries_its_variables_in_brackets_without_a_comma():
    doc = build_user_call("tenant-initech", "1000", "initech", "1000", "initech.example.com",
                          [NodeInfo("media-2", "127.0.0.12", 5080), NodeInfo("media-3", "2001:db8::3", 5080)],
                          "cluster", 30, 10)
    actions = parse_answer(doc).actions
    for application, data in actions:
        check_action(Action(application, data))
    legs = bridge_of(parse_answer(doc)).split("|")
    assert legs[0] == "[leg_timeout=30]user/1000@initech.example.com"
    assert legs[2] == "[leg_timeout=30][leg_progress_timeout=10][sip_h_X-Tenant=initech]" \
                      "sofia/cluster/1000@[2001:db8::3]:5080"
    assert "," not in "".join(data for _, data in actions)


def test_a_zero_progress_timeout_leaves_the_remote_legs_only_their_ring_limit():
    doc = build_user_call("tenant-initech", "1000", "initech", "1000", "initech.example.com",
                          [NodeInfo("media-2", "127.0.0.12", 5080)], "cluster", 30, 0)
    assert bridge_of(parse_answer(doc)).split("|")[1] == \
        "[leg_timeout=30][sip_h_X-Tenant=initech]sofia/cluster/1000@127.0.0.12:5080"


def test_busy_declined_or_unanswered_end_the_call_and_unregistered_tries_the_next_node():
    # originate matches a leg's cause name as a substring of the list (switch_stristr).
    for final in ("USER_BUSY", "CALL_REJECTED", "NO_ANSWER", "ALLOTTED_TIMEOUT", "ORIGINATOR_CANCEL"):
        assert final in USER_FINAL_CAUSES
    # Not registered here (USER_NOT_REGISTERED), not there (480 -> NO_USER_RESPONSE), a node that does
    # not ring in time (PROGRESS_TIMEOUT) or is down: the next node is tried.
    for next_node in ("USER_NOT_REGISTERED", "NO_USER_RESPONSE", "PROGRESS_TIMEOUT", "SUBSCRIBER_ABSENT",
                      "NORMAL_TEMPORARY_FAILURE", "RECOVERY_ON_TIMER_EXPIRE", "DESTINATION_OUT_OF_ORDER",
                      "NETWORK_OUT_OF_ORDER"):
        assert next_node not in USER_FINAL_CAUSES
    assert USER_FINAL_CAUSES.startswith(FINAL_CAUSES)


def test_both_answers_hold_only_the_known_safe_shapes(fetch):
    from tests.test_routing_properties import _assert_answer_safe

    for body, node in ((media_call("initech", "1000", "media-1", user="2000"), "media-1"),
                       (media_call("initech", "1000", "media-2", user="2000"), "media-2"),
                       (peer_call("1000"), "media-2"), (peer_call("2000", node="media-1", source="127.0.0.12"), "media-1")):
        response = fetch(body, node=node)
        assert b"user/" in response.data
        _assert_answer_safe(response.data)
