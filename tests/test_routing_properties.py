"""Property tests: route selection and the dialplan answers hold their safety rules for any data and any caller input."""
from __future__ import annotations

import random
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import delete, insert, update

from tests.conftest import cluster_body, retarget
from tests.fetch.test_dialplan_builders import parse_answer
from xmlcurl.fetch.dialplan.data import Candidate
from xmlcurl.fetch.dialplan.extension import check_action, Action
from xmlcurl.fetch.dialplan.numbers import NUMBER, matches
from xmlcurl.fetch.dialplan.routing import leg_number, plan_route
from xmlcurl.models import Node, Tenant, TenantNode

TENANTS = (1, 2, 3)
FEW = settings(max_examples=60, deadline=None)
DB = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

prefixes = st.text("0123456789", max_size=4)
numbers = st.text("0123456789", min_size=3, max_size=14)


@st.composite
def candidate_sets(draw) -> list[Candidate]:
    """Routes as the one query returns them: unique per (scope, prefix, gateway)."""
    rows = draw(st.lists(
        st.tuples(st.sampled_from((None, *TENANTS)), prefixes, st.sampled_from(["gw-a", "gw-b", "gw-c", "gw-d"])),
        max_size=14, unique=True,
    ))
    out = []
    for index, (tenant, prefix, gateway) in enumerate(rows, 1):
        out.append(Candidate(
            route_id=index, prefix=prefix, tenant_id=tenant, gateway=gateway,
            priority=draw(st.integers(1, 3)), weight=draw(st.integers(0, 5)),
            strip_digits=draw(st.sampled_from([0, 0, 1, 2])), prepend=draw(st.sampled_from(["", "0", "+", "9#"])),
            media_mode=draw(st.sampled_from(["bypass", "proxy"])),
            route_enabled=draw(st.booleans()), gateway_enabled=draw(st.booleans()),
        ))
    return out


def _usable(c: Candidate, number: str, tenant: int) -> bool:
    return (c.route_enabled and c.gateway_enabled and c.tenant_id in (None, tenant) and number.startswith(c.prefix)
            and c.strip_digits < len(number))


@FEW
@given(candidate_sets(), numbers, st.sampled_from(TENANTS), st.integers(0, 2**32))
def test_route_selection_rules_hold_for_any_routes(candidates, number, tenant, seed):
    plan = plan_route(candidates, number, tenant, random.Random(seed))
    usable = [c for c in candidates if _usable(c, number, tenant)]
    chosen = [leg.candidate for leg in plan.legs]
    # Never a disabled route or gateway, never another tenant's route.
    assert all(c.route_enabled and c.gateway_enabled and c.tenant_id in (None, tenant) for c in chosen)
    if not usable:
        assert not chosen
        return
    # Always the longest matching prefix; at that length the tenant's own routes if it has any.
    longest = max(len(c.prefix) for c in usable)
    at_longest = [c for c in usable if len(c.prefix) == longest]
    expected = [c for c in at_longest if c.tenant_id == tenant] or at_longest
    assert sorted(chosen, key=lambda c: c.route_id) == sorted(expected, key=lambda c: c.route_id)
    # Failover in priority order, positive weights before standby within a priority.
    keys = [(c.priority, c.weight == 0) for c in chosen]
    assert keys == sorted(keys)
    # Each leg in its gateway's number format, and the bridge only ever splits between legs.
    assert [leg.number for leg in plan.legs] == [leg_number(number, c.strip_digits, c.prepend) for c in chosen]
    assert plan.bridge.count("|") == len(chosen) - 1
    check_action(Action("bridge", plan.bridge))
    assert plan.bypass_media == all(c.media_mode == "bypass" for c in chosen)


# Caller text: hostile pieces mixed with plausible digits.
hostile = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from(["86", "138", "0", "+", "$", "{", "}", "|", ",", " ", "${api(system id)}", "$${x}",
                              "%7B", "\\", "'", "\"", "acme", "globex", "\t", "sofia/gateway/x/1"]),
             max_size=8).map("".join),
)


LEG = (r"(?:\[(?:leg_timeout|leg_progress_timeout)=[0-9]+\]|\[sip_h_X-Tenant=[a-z0-9-]+\])*"
       r"(?:sofia/gateway/[A-Za-z0-9_.-]+/[0-9+#*]+|user/[A-Za-z0-9_.+-]+@[A-Za-z0-9.-]+"
       r"|sofia/[A-Za-z0-9_.-]+/\+?[A-Za-z0-9_.+-]+@[0-9a-f.:\[\]]+:[0-9]+)")
#: Every action data an answer may hold: fixed text around values that passed a strict pattern.
SHAPES = {
    "set": re.compile(r"(?:tenant|sip_h_X-Tenant)=[a-z0-9-]+|sip_copy_custom_headers=false|hangup_after_bridge=true"
                      r"|bypass_media=true|call_timeout=[0-9]+|effective_caller_id_number=\+?[0-9]+"
                      r"|effective_caller_id_name=[A-Za-z0-9 ]+|fail_on_single_reject=[A-Z_]+(?::[A-Z_]+)*"),
    "limit": re.compile(r"hash tenant-(?:calls|calls-router|cps) [a-z0-9-]+ [0-9]+(?:/1)? !USER_BUSY"),
    "log": re.compile(r"WARNING xmlcurl reject [0-9]{3} [A-Za-z ]+"),
    "respond": re.compile(r"[0-9]{3} [A-Za-z ]+"),
    "bridge": re.compile(rf"(?:\{{sip_h_X-Tenant=[a-z0-9-]+\}})?{LEG}(?:\|{LEG})*"),
}
EXPRESSION = re.compile(r"\^|\^(?:\\\+)?[A-Za-z0-9_]+(?:\\-[A-Za-z0-9_]+)*\$")


def _assert_answer_safe(xml: bytes) -> None:
    """Only the known shapes: no caller text can be anywhere but in a validated, anchored number."""
    answer = parse_answer(xml)
    assert EXPRESSION.fullmatch(answer.expression), answer.expression
    for app, data in answer.actions:
        check_action(Action(app, data))
        assert SHAPES[app].fullmatch(data), (app, data)


@DB
@given(number=hostile, x_tenant=hostile)
def test_media_answers_never_carry_unvalidated_caller_text(fetch, number, x_tenant):
    body = retarget(cluster_body("media-1_dialplan_acme-outbound"),
                    **{"Hunt-Destination-Number": number, "Caller-Destination-Number": number,
                       "variable_sip_h_X-Tenant": x_tenant})
    response = fetch(body)
    assert response.status_code == 200
    _assert_answer_safe(response.data)
    bridge = [e.get("data") for e in etree.fromstring(response.data).iter("action") if e.get("application") == "bridge"]
    assert not bridge or bridge[0].startswith("{sip_h_X-Tenant=acme}") or bridge[0].startswith("[leg_timeout=30]user/")


@DB
@given(number=hostile, x_tenant=hostile)
def test_router_answers_never_carry_unvalidated_caller_text(fetch, number, x_tenant):
    body = retarget(cluster_body("router-1_dialplan_from-media"),
                    **{"Hunt-Destination-Number": number, "Caller-Destination-Number": number,
                       "variable_sip_h_X-Tenant": x_tenant})
    response = fetch(body, node="router-1")
    assert response.status_code == 200
    _assert_answer_safe(response.data)
    served = any(e.get("application") == "bridge" for e in etree.fromstring(response.data).iter("action"))
    # media-1 serves acme and initech.
    assert served == (x_tenant in {"acme", "initech"} and matches(NUMBER, number))


MEDIA = {2: ("media-1", "127.0.0.11"), 3: ("media-2", "127.0.0.12")}
CODES = {1: "acme", 2: "globex", 3: "initech"}


@DB
@given(
    pins=st.sets(st.tuples(st.sampled_from(TENANTS), st.sampled_from(sorted(MEDIA)))),
    disabled_tenants=st.sets(st.sampled_from(TENANTS)),
    disabled_nodes=st.sets(st.sampled_from(sorted(MEDIA))),
)
def test_no_node_ever_serves_a_tenant_not_pinned_to_it(fetch, session, pins, disabled_tenants, disabled_nodes):
    session.execute(delete(TenantNode))
    for tenant, node in pins:
        session.execute(insert(TenantNode).values(tenant_id=tenant, node_id=node, weight=100))
    session.execute(update(Tenant).values(enabled=True))
    session.execute(update(Node).values(enabled=True))
    if disabled_tenants:
        session.execute(update(Tenant).where(Tenant.id.in_(disabled_tenants)).values(enabled=False))
    if disabled_nodes:
        session.execute(update(Node).where(Node.id.in_(disabled_nodes)).values(enabled=False))
    session.commit()
    for tenant, code in CODES.items():
        for node_id, (name, address) in MEDIA.items():
            serves = (tenant, node_id) in pins and tenant not in disabled_tenants
            routes = serves and node_id not in disabled_nodes
            context = f"tenant-{code}"
            media_body = retarget(cluster_body("media-1_dialplan_acme-outbound"), hostname=name,
                                  **{"Hunt-Context": context, "Caller-Context": context, "variable_tenant": code})
            if node_id not in disabled_nodes:
                media = parse_answer(fetch(media_body, node=name).data)
                assert (media.extension != "reject") == serves, (code, name)
            router_body = retarget(cluster_body("router-1_dialplan_from-media"),
                                   **{"variable_sip_h_X-Tenant": code, "variable_sip_network_ip": address})
            router = parse_answer(fetch(router_body, node="router-1").data)
            assert (router.extension != "reject") == routes, (code, name)
