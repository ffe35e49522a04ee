"""Dialplan builders: one context, one extension, anchored condition, and action data FreeSWITCH cannot subvert."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from lxml import etree

from xmlcurl.fetch.dialplan.data import Candidate, NodeInfo, TenantInfo, UserInfo
from xmlcurl.fetch.dialplan.extension import FINAL_CAUSES, Action, build_extension, build_rejection, check_action
from xmlcurl.fetch.dialplan.media import CallerId, build_outbound, build_user_bridge, caller_id
from xmlcurl.fetch.dialplan.numbers import NumberingPlan
from xmlcurl.fetch.dialplan.router import build_did, build_route
from xmlcurl.fetch.dialplan.routing import Rejection, plan_route
from xmlcurl.fetch.xmldoc import UnsafeValue, serialise

ACME = TenantInfo(1, "acme", "acme.example.com", "tenant-acme", 100, 10, "8657100000000", "Acme",
                  NumberingPlan("86", "0", "00"), True)


@dataclass(frozen=True)
class Answer:
    context: str
    extension: str
    field: str
    expression: str
    actions: list[tuple[str, str]]


def parse_answer(xml: bytes | etree._Element) -> Answer:
    """The one extension of a dialplan answer; fails unless the document has exactly that shape."""
    doc = etree.fromstring(xml) if isinstance(xml, bytes) else xml
    assert doc.tag == "document" and doc.get("type") == "freeswitch/xml"
    sections = doc.findall("section")
    assert [s.get("name") for s in sections] == ["dialplan"]
    contexts = sections[0].findall("context")
    assert len(contexts) == 1
    extensions = contexts[0].findall("extension")
    assert len(extensions) == 1
    conditions = extensions[0].findall("condition")
    assert len(conditions) == 1
    condition = conditions[0]
    assert all(child.tag == "action" for child in condition)
    return Answer(
        context=contexts[0].get("name"), extension=extensions[0].get("name"), field=condition.get("field"),
        expression=condition.get("expression"),
        actions=[(a.get("application"), a.get("data")) for a in condition],
    )


def bridge_of(answer: Answer) -> str:
    bridges = [data for app, data in answer.actions if app == "bridge"]
    assert len(bridges) == 1
    return bridges[0]


def assert_rejected(answer: Answer, context: str, status: int) -> None:
    assert answer.context == context
    assert answer.extension == "reject" and answer.field == "destination_number" and answer.expression == "^"
    assert answer.actions[-1][0] == "respond" and answer.actions[-1][1].startswith(f"{status} ")
    assert not any(app == "bridge" for app, _ in answer.actions)


def test_outbound_extension_sets_the_tenant_and_bridges_every_router_with_failover():
    routers = [NodeInfo("router-1", "127.0.0.10", 5080), NodeInfo("router-2", "127.0.0.13", 5080)]
    answer = parse_answer(build_outbound("tenant-acme", "013800138000", "8613800138000", ACME,
                                         CallerId("8657100000000", "Acme"), routers, "router-"))
    assert (answer.context, answer.extension, answer.expression) == ("tenant-acme", "outbound", "^013800138000$")
    assert answer.actions == [
        ("set", "tenant=acme"),
        ("limit", "hash tenant-calls acme 100 !USER_BUSY"),
        ("set", "sip_h_X-Tenant=acme"),
        ("set", "sip_copy_custom_headers=false"),
        ("set", "hangup_after_bridge=true"),
        ("set", "effective_caller_id_number=8657100000000"),
        ("set", "effective_caller_id_name=Acme"),
        ("set", f"fail_on_single_reject={FINAL_CAUSES}"),
        ("bridge", "{sip_h_X-Tenant=acme}sofia/gateway/router-router-1/8613800138000"
                   "|sofia/gateway/router-router-2/8613800138000"),
    ]


def test_user_bridge_rings_the_user_in_its_tenant_domain():
    answer = parse_answer(build_user_bridge("from-router", "did", "8610000001", "acme", "1000", "acme.example.com", 30))
    assert answer.actions[-2:] == [("set", "call_timeout=30"), ("bridge", "user/1000@acme.example.com")]


def test_route_extension_carries_limits_and_bypass_and_the_plan_legs():
    plan = plan_route([Candidate(1, "86", None, 10, 100, "carrier-b"),
                       Candidate(2, "86", None, 20, 100, "carrier-a", prepend="0")], "8613800138000", 1)
    answer = parse_answer(build_route("from-media", ACME, plan))
    assert answer.actions == [
        ("set", "tenant=acme"),
        ("limit", "hash tenant-calls-router acme 100 !USER_BUSY"),
        ("limit", "hash tenant-cps acme 10/1 !USER_BUSY"),
        ("set", "sip_copy_custom_headers=false"),
        ("set", "hangup_after_bridge=true"),
        ("set", "bypass_media=true"),
        ("set", f"fail_on_single_reject={FINAL_CAUSES}"),
        ("bridge", "sofia/gateway/carrier-b/8613800138000|sofia/gateway/carrier-a/08613800138000"),
    ]


def test_busy_or_refused_calls_are_not_retried_on_the_next_leg():
    causes = FINAL_CAUSES.split(":")
    assert {"USER_BUSY", "CALL_REJECTED", "UNALLOCATED_NUMBER", "NO_ROUTE_DESTINATION"} <= set(causes)
    # Faults of a router or carrier (503, timeouts, unreachable) must still fail over.
    assert not {"NORMAL_TEMPORARY_FAILURE", "RECOVERY_ON_TIMER_EXPIRE", "DESTINATION_OUT_OF_ORDER"} & set(causes)


def test_did_extension_bridges_media_nodes_in_order_with_ipv6_in_brackets():
    nodes = [NodeInfo("media-1", "127.0.0.11", 5080), NodeInfo("media-6", "fd00::6", 5090)]
    answer = parse_answer(build_did("from-carrier", "+8610000001", "8610000001", "acme", nodes, "cluster"))
    assert answer.expression == r"^\+8610000001$"
    assert bridge_of(answer) == "{sip_h_X-Tenant=acme}sofia/cluster/8610000001@127.0.0.11:5080|sofia/cluster/8610000001@[fd00::6]:5090"


def test_rejection_is_one_extension_in_the_callers_context_matching_any_number():
    answer = parse_answer(build_rejection("tenant-acme", Rejection(404, "Invalid Number")))
    assert_rejected(answer, "tenant-acme", 404)
    assert answer.actions == [("log", "WARNING xmlcurl reject 404 Invalid Number"), ("respond", "404 Invalid Number")]


def test_answers_have_no_declaration_line_for_the_preprocessor_to_drop():
    xml = serialise(build_rejection("tenant-acme", Rejection(404, "Invalid Number")))
    assert b"<?" not in xml and xml.startswith(b"<document")


@pytest.mark.parametrize("action", [
    Action("set", "effective_caller_id_name=${api(system id)}"),
    Action("set", "x=$${hostname}"),
    Action("respond", "404 a,b"),
    Action("set", "a=b|c"),
    Action("bridge", "sofia/gateway/a/1,sofia/gateway/b/2"),
    Action("bridge", "sofia/gateway/a/1|{x=y}sofia/gateway/b/2"),
    Action("bridge", "{x=${y}}sofia/gateway/a/1"),
    Action("bridge", "sofia/gateway/a/1||"),
    Action("bridge", "sofia/gateway/a/${x}"),
])
def test_action_data_that_freeswitch_would_expand_or_split_is_refused(action):
    with pytest.raises(UnsafeValue):
        check_action(action)
    with pytest.raises(UnsafeValue):
        build_extension("tenant-acme", "x", "^1$", [action])


def test_an_unsafe_action_is_refused_every_time_not_only_the_first():
    for _ in range(2):
        with pytest.raises(UnsafeValue):
            build_extension("tenant-acme", "x", "^1$", [Action("set", "x=${y}")], [Action("bridge", "sofia/gateway/a/1")])
        with pytest.raises(UnsafeValue):
            build_extension("tenant-acme", "x", "^1$", [Action("set", "x=y")], [Action("bridge", "sofia/gateway/${a}/1")])


def test_an_unsafe_expression_is_refused_though_the_rest_of_the_extension_was_seen_before():
    shared, own = [Action("set", "tenant=acme")], [Action("bridge", "sofia/gateway/a/1")]
    build_extension("tenant-acme", "x", "^1$", shared, own)
    with pytest.raises(UnsafeValue):
        build_extension("tenant-acme", "x", "^$${hostname}$", shared, own)


def test_extensions_sharing_their_leading_actions_are_independent_documents():
    head = [Action("set", "tenant=acme"), Action("set", "hangup_after_bridge=true")]
    first = build_extension("tenant-acme", "x", "^1$", head, [Action("bridge", "sofia/gateway/a/1")])
    first.find(".//condition").append(etree.Element("action", application="hangup"))
    second = build_extension("tenant-acme", "x", "^2$", head, [Action("bridge", "sofia/gateway/b/2")])
    assert [(a.get("application"), a.get("data")) for a in second.iter("action")] == [
        ("set", "tenant=acme"), ("set", "hangup_after_bridge=true"), ("bridge", "sofia/gateway/b/2")]
    assert second.find(".//condition").get("expression") == "^2$"
    assert first.find(".//condition").get("expression") == "^1$"


def test_a_leading_variable_block_is_the_only_brace_a_bridge_may_carry():
    assert check_action(Action("bridge", "{sip_h_X-Tenant=acme}sofia/gateway/a/1|sofia/gateway/b/1"))


APPROVED = frozenset({"8657188888888", "8657100000000"})


def test_caller_id_prefers_the_users_valid_outbound_id_then_the_tenants_default():
    assert caller_id(UserInfo("1000", "8657188888888", "Sales Desk"), ACME, APPROVED) == CallerId("8657188888888", "Sales Desk")
    assert caller_id(UserInfo("1000"), ACME, APPROVED) == CallerId("8657100000000", "Acme")
    hostile = UserInfo("1000", "${api(system id)}", "Acme, Inc|x")
    assert caller_id(hostile, ACME, APPROVED) == CallerId("8657100000000", "Acme")
    bare = TenantInfo(**{**ACME.__dict__, "default_cid_number": "86${x}", "default_cid_name": "{x}"})
    assert caller_id(None, bare, APPROVED) == CallerId(None, None)


@pytest.mark.parametrize("name", ['x" <sip:boss@evil.test>;', "Sales\\Desk", "a<b>", "Desk\n", "X-PRE-PROCESS",
                                  "Tab\there", "Semi;colon", "Quote'\"", "=cmd", "-x", " lead"])
def test_caller_id_names_that_would_break_the_from_header_are_left_out(name):
    assert caller_id(UserInfo("1000", "8657188888888", name), ACME, APPROVED) == CallerId("8657188888888", "Acme")


def test_caller_id_numbers_not_approved_for_the_tenant_fall_back_to_its_default():
    assert caller_id(UserInfo("1000", "8610000002", "Sales"), ACME, APPROVED) == CallerId("8657100000000", "Sales")
    assert caller_id(UserInfo("1000", "8610000002"), ACME, frozenset()) == CallerId(None, "Acme")
    # Without an approved outbound number, the user's own approved caller ID number comes before the default.
    assert caller_id(UserInfo("1000", "8610000002", None, "8657188888888"), ACME, APPROVED) == CallerId(
        "8657188888888", "Acme")
