"""Route selection: longest prefix, tenant over global, priority and weighted shuffle, number formats."""
from __future__ import annotations

import random
from collections import Counter

import pytest

from xmlcurl.fetch.dialplan.data import Candidate
from xmlcurl.fetch.dialplan.numbers import InvalidValue
from xmlcurl.fetch.dialplan.routing import leg_number, plan_route, weighted_order, winning_set

ACME, GLOBEX = 1, 2
_ids = iter(range(1, 10_000))


def route(prefix, gateway, priority=10, weight=100, tenant=None, **kw) -> Candidate:
    return Candidate(route_id=next(_ids), prefix=prefix, tenant_id=tenant, priority=priority, weight=weight,
                     gateway=gateway, **kw)


DEMO = [
    route("", "carrier-a", 10), route("", "carrier-b", 20),
    route("86", "carrier-b", 10), route("86", "carrier-a", 20, prepend="0"),
    route("1", "carrier-b", 10, tenant=GLOBEX),
]
# carrier-a prepends 0 whatever the prefix.
DEMO = [c if c.gateway != "carrier-a" else Candidate(**{**c.__dict__, "prepend": "0"}) for c in DEMO]


def test_demo_86_goes_to_carrier_b_then_carrier_a_with_its_zero():
    plan = plan_route(DEMO, "8613800138000", ACME)
    assert plan.bridge == "sofia/gateway/carrier-b/8613800138000|sofia/gateway/carrier-a/08613800138000"
    assert (plan.prefix, plan.scope, plan.bypass_media) == ("86", "global", True)


def test_a_tenant_route_applies_only_to_its_tenant():
    assert plan_route(DEMO, "15551234567", GLOBEX).bridge == "sofia/gateway/carrier-b/15551234567"
    acme = plan_route(DEMO, "15551234567", ACME)
    assert acme.prefix == "" and acme.bridge == "sofia/gateway/carrier-a/015551234567|sofia/gateway/carrier-b/15551234567"


def test_the_longest_prefix_wins_even_over_a_shorter_tenant_route():
    candidates = [route("86", "tenant-gw", tenant=ACME), route("8613", "global-gw")]
    plan = plan_route(candidates, "8613800138000", ACME)
    assert [leg.candidate.gateway for leg in plan.legs] == ["global-gw"]


def test_tenant_routes_beat_global_routes_of_the_same_length():
    candidates = [route("86", "global-gw", priority=1), route("86", "tenant-gw", priority=50, tenant=ACME)]
    plan = plan_route(candidates, "8613800138000", ACME)
    assert [leg.candidate.gateway for leg in plan.legs] == ["tenant-gw"]
    assert plan.scope == "tenant"
    assert winning_set(candidates, ACME) == [candidates[1]]


def test_disabled_routes_and_gateways_give_no_leg_and_a_shorter_prefix_takes_over():
    candidates = [
        route("86", "off-gw", gateway_enabled=False), route("86", "off-route", route_enabled=False),
        route("8", "fallback"),
    ]
    plan = plan_route(candidates, "8613800138000", ACME)
    assert [leg.candidate.gateway for leg in plan.legs] == ["fallback"]
    assert {u.candidate.gateway: u.reason for u in plan.unused} == {
        "off-gw": "gateway disabled", "off-route": "route disabled",
    }


def test_no_usable_route_gives_no_legs():
    plan = plan_route([route("44", "uk")], "8613800138000", ACME)
    assert plan.legs == () and plan.bridge == ""


def test_priority_orders_legs_before_weight():
    candidates = [route("", "late", priority=30, weight=1000), route("", "early", priority=5, weight=1)]
    assert [leg.candidate.gateway for leg in plan_route(candidates, "4420123", ACME).legs] == ["early", "late"]


def test_equal_priority_legs_are_shuffled_in_proportion_to_their_weight():
    candidates = [route("", "heavy", weight=300), route("", "light", weight=100)]
    rng = random.Random(7)
    firsts = Counter(plan_route(candidates, "4420123", ACME, rng).legs[0].candidate.gateway for _ in range(4000))
    assert 0.70 < firsts["heavy"] / 4000 < 0.80
    plan = plan_route(candidates, "4420123", ACME, rng)
    assert plan.shuffled_priorities == (10,)
    assert {leg.candidate.gateway for leg in plan.legs} == {"heavy", "light"}


def test_weight_zero_legs_are_standby_after_every_weighted_leg_of_their_priority():
    candidates = [route("", "standby-b", weight=0), route("", "standby-a", weight=0), route("", "live", weight=1)]
    rng = random.Random(1)
    for _ in range(50):
        order = [c.gateway for c in weighted_order(candidates, rng)]
        assert order == ["live", "standby-a", "standby-b"]


def test_each_leg_carries_its_gateways_number_format():
    candidates = [route("86", "strip2", priority=1, strip_digits=2, prepend="0"), route("86", "plus", priority=2, prepend="+")]
    plan = plan_route(candidates, "8613800138000", ACME)
    assert plan.bridge == "sofia/gateway/strip2/013800138000|sofia/gateway/plus/+8613800138000"


@pytest.mark.parametrize("strip, prepend", [(13, ""), (-1, ""), (0, "${x}"), (0, "0|sofia/gateway/evil/1"), (0, "0,1")])
def test_an_unusable_number_format_refuses_the_leg(strip, prepend):
    with pytest.raises(InvalidValue):
        leg_number("8613800138000", strip, prepend)
    plan = plan_route([route("", "bad", strip_digits=strip, prepend=prepend)], "8613800138000", ACME)
    assert plan.legs == ()


def test_a_gateway_name_unusable_in_a_dial_string_gives_no_leg():
    plan = plan_route([route("", "evil/gw|x"), route("", "good")], "4420123", ACME)
    assert [leg.candidate.gateway for leg in plan.legs] == ["good"]


def test_one_proxy_gateway_among_the_legs_proxies_the_whole_bridge():
    bypass = plan_route([route("", "a"), route("", "b", priority=20)], "4420123", ACME)
    proxy = plan_route([route("", "a"), route("", "b", priority=20, media_mode="proxy")], "4420123", ACME)
    assert bypass.bypass_media and not proxy.bypass_media


def test_other_tenants_routes_are_never_used_nor_shown():
    plan = plan_route([route("86", "globex-only", tenant=GLOBEX), route("", "default")], "8613800138000", ACME)
    assert [leg.candidate.gateway for leg in plan.legs] == ["default"]
    assert all(u.candidate.gateway != "globex-only" for u in plan.unused)


def test_the_number_must_be_validated_digits():
    with pytest.raises(InvalidValue):
        plan_route(DEMO, "86138,999", ACME)
