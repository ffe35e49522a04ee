"""Router dialplan on the demo data: tenant routes from pinned media nodes, DIDs in from the carriers."""
from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update

from xmlcurl.fetch.dialplan.extension import FINAL_CAUSES
from tests.conftest import CONFORMANCE, captured_request, cluster_body, retarget
from tests.fetch.test_dialplan_builders import assert_rejected, bridge_of, parse_answer
from xmlcurl.fetch.xmldoc import NOT_FOUND
from xmlcurl.models import Did, Gateway, Node, Route, Tenant, TenantNode
from xmlcurl import db

MEDIA_IP = {"media-1": "127.0.0.11", "media-2": "127.0.0.12"}
PINNED = {"media-1": {"acme", "initech"}, "media-2": {"globex", "initech"}}
B_THEN_A = "sofia/gateway/carrier-b/8613800138000|sofia/gateway/carrier-a/08613800138000"


def from_media(tenant: str, number: str, media: str = "media-1", **extra: str) -> bytes:
    return retarget(
        cluster_body("router-1_dialplan_from-media"),
        **{"Hunt-Destination-Number": number, "Caller-Destination-Number": number,
           "variable_sip_h_X-Tenant": tenant, "variable_sip_network_ip": MEDIA_IP.get(media, media), **extra},
    )


def from_carrier(did: str, **extra: str) -> bytes:
    return retarget(cluster_body("router-1_dialplan_from-carrier_did"),
                    **{"Hunt-Destination-Number": did, "Caller-Destination-Number": did, **extra})


def answer(fetch, body: bytes):
    response = fetch(body, node="router-1")
    assert response.status_code == 200
    return parse_answer(response.data)


def test_acme_from_media_1_matches_the_answer_the_real_cluster_accepted(fetch):
    got = answer(fetch, cluster_body("router-1_dialplan_from-media"))
    reference = parse_answer((CONFORMANCE / "cluster" / "router-1_dialplan_from-media.xml").read_bytes())
    assert (got.context, got.extension, got.expression) == (reference.context, reference.extension, reference.expression)
    limits = [("limit", "hash tenant-calls-router acme 100 !USER_BUSY"), ("limit", "hash tenant-cps acme 10/1 !USER_BUSY")]
    final = [("set", f"fail_on_single_reject={FINAL_CAUSES}")]
    assert got.actions == reference.actions[:1] + limits + reference.actions[1:-1] + final + reference.actions[-1:]
    assert bridge_of(got) == B_THEN_A


@pytest.mark.parametrize("tenant, number, media, bridge", [
    ("acme", "8613800138000", "media-1", B_THEN_A),
    ("globex", "8613800138000", "media-2", B_THEN_A),
    ("globex", "15551234567", "media-2", "sofia/gateway/carrier-b/15551234567"),
    ("initech", "4420123", "media-1", "sofia/gateway/carrier-a/04420123|sofia/gateway/carrier-b/4420123"),
    ("initech", "4420123", "media-2", "sofia/gateway/carrier-a/04420123|sofia/gateway/carrier-b/4420123"),
    ("acme", "15551234567", "media-1", "sofia/gateway/carrier-a/015551234567|sofia/gateway/carrier-b/15551234567"),
])
def test_demo_routes(fetch, tenant, number, media, bridge):
    got = answer(fetch, from_media(tenant, number, media))
    assert got.context == "from-media" and got.expression == f"^{number}$"
    assert bridge_of(got) == bridge
    assert ("set", f"tenant={tenant}") in got.actions
    assert ("set", "sip_copy_custom_headers=false") in got.actions


@pytest.mark.parametrize("media", sorted(PINNED))
@pytest.mark.parametrize("tenant", ["acme", "globex", "initech"])
def test_a_tenant_is_routed_only_from_a_media_node_it_is_pinned_to(fetch, media, tenant):
    got = answer(fetch, from_media(tenant, "8613800138000", media))
    if tenant in PINNED[media]:
        assert bridge_of(got) == B_THEN_A
    else:
        assert_rejected(got, "from-media", 403)


@pytest.mark.parametrize("address", ["127.0.0.10", "127.0.0.1", "10.1.2.3", "", "127.0.0.11;x"])
def test_a_call_not_from_a_media_node_is_refused(fetch, address):
    assert_rejected(answer(fetch, from_media("acme", "8613800138000", variable_sip_network_ip=address)), "from-media", 403)


def test_a_disabled_media_node_cannot_spend_its_tenants_routes(fetch, session):
    session.execute(update(Node).where(Node.name == "media-1").values(enabled=False))
    session.commit()
    assert_rejected(answer(fetch, from_media("acme", "8613800138000")), "from-media", 403)


@pytest.mark.parametrize("x_tenant", ["", "nobody", "ACME", "acme,globex", "${api(system id)}", "a", "acme|x"])
def test_a_missing_unknown_or_malformed_x_tenant_is_refused(fetch, x_tenant):
    response = fetch(from_media(x_tenant, "8613800138000"), node="router-1")
    got = parse_answer(response.data)
    assert_rejected(got, "from-media", 403)
    if len(x_tenant) > 4:
        assert x_tenant.encode() not in response.data


def test_a_disabled_tenant_is_refused(fetch, session):
    session.execute(update(Tenant).where(Tenant.code == "acme").values(enabled=False))
    session.commit()
    assert_rejected(answer(fetch, from_media("acme", "8613800138000")), "from-media", 403)


@pytest.mark.parametrize("number", ["8613800138000,999", "86138|1", "86138${x}", "+8613800138000", "12", "1" * 21, ""])
def test_numbers_that_are_not_normalised_digits_are_refused(fetch, number):
    got = answer(fetch, from_media("acme", number))
    assert_rejected(got, "from-media", 404)
    assert all("$" not in data and "," not in data for _, data in got.actions)


def test_no_route_is_a_404_rejection(fetch, session):
    session.execute(update(Route).values(enabled=False))
    session.commit()
    got = answer(fetch, from_media("acme", "8613800138000"))
    assert_rejected(got, "from-media", 404)
    assert got.actions[-1] == ("respond", "404 No Route")


def test_a_disabled_gateway_is_skipped(fetch, session):
    session.execute(update(Gateway).where(Gateway.name == "carrier-b").values(enabled=False))
    session.commit()
    assert bridge_of(answer(fetch, from_media("acme", "8613800138000"))) == "sofia/gateway/carrier-a/08613800138000"


def test_a_proxy_gateway_in_the_bridge_keeps_media_on_the_router(fetch, session):
    session.execute(update(Gateway).where(Gateway.name == "carrier-a").values(media_mode="proxy"))
    session.commit()
    got = answer(fetch, from_media("acme", "8613800138000"))
    assert ("set", "bypass_media=true") not in got.actions
    assert bridge_of(got) == B_THEN_A


def test_a_tenant_route_beats_a_global_route_of_equal_length_for_that_tenant_only(fetch, session):
    session.execute(insert(Route).values(tenant_id=1, prefix="86", gateway_id=1, priority=50, weight=100))
    session.commit()
    assert bridge_of(answer(fetch, from_media("acme", "8613800138000"))) == "sofia/gateway/carrier-a/08613800138000"
    assert bridge_of(answer(fetch, from_media("globex", "8613800138000", "media-2"))) == B_THEN_A


def test_the_longest_prefix_wins(fetch, session):
    session.execute(insert(Route).values(tenant_id=None, prefix="86138", gateway_id=1, priority=90, weight=100))
    session.commit()
    assert bridge_of(answer(fetch, from_media("acme", "8613800138000"))) == "sofia/gateway/carrier-a/08613800138000"
    assert bridge_of(answer(fetch, from_media("acme", "8613900000000"))) == (
        "sofia/gateway/carrier-b/8613900000000|sofia/gateway/carrier-a/08613900000000")


def test_limits_come_from_the_tenant(fetch, session):
    session.execute(update(Tenant).where(Tenant.code == "globex").values(max_calls=7, max_cps=3))
    session.commit()
    got = answer(fetch, from_media("globex", "15551234567", "media-2"))
    assert ("limit", "hash tenant-calls-router globex 7 !USER_BUSY") in got.actions
    assert ("limit", "hash tenant-cps globex 3/1 !USER_BUSY") in got.actions


def test_a_did_from_a_carrier_matches_the_answer_the_real_cluster_accepted(fetch):
    got = answer(fetch, cluster_body("router-1_dialplan_from-carrier_did"))
    assert got == parse_answer((CONFORMANCE / "cluster" / "router-1_dialplan_from-carrier_did.xml").read_bytes())


@pytest.mark.parametrize("did, legs", [
    ("8610000001", "{sip_h_X-Tenant=acme}sofia/cluster/8610000001@127.0.0.11:5080"),
    ("8610000002", "{sip_h_X-Tenant=globex}sofia/cluster/8610000002@127.0.0.12:5080"),
    ("8610000003", "{sip_h_X-Tenant=initech}sofia/cluster/8610000003@127.0.0.11:5080"
                   "|sofia/cluster/8610000003@127.0.0.12:5080"),
])
def test_dids_go_to_their_tenants_media_nodes_in_weight_order(fetch, did, legs):
    got = answer(fetch, from_carrier(did))
    assert got.context == "from-carrier" and bridge_of(got) == legs
    assert ("set", "bypass_media=true") in got.actions


def test_media_node_weights_decide_the_did_failover_order(fetch, session):
    session.execute(update(TenantNode).where(TenantNode.tenant_id == 3, TenantNode.node_id == 3).values(weight=500))
    session.commit()
    assert bridge_of(answer(fetch, from_carrier("8610000003"))).split("|")[0].endswith("@127.0.0.12:5080")


def test_a_disabled_media_node_is_left_out_of_a_did_bridge(fetch, session):
    session.execute(update(Node).where(Node.name == "media-1").values(enabled=False))
    session.commit()
    assert bridge_of(answer(fetch, from_carrier("8610000003"))) == (
        "{sip_h_X-Tenant=initech}sofia/cluster/8610000003@127.0.0.12:5080")
    assert_rejected(answer(fetch, from_carrier("8610000001")), "from-carrier", 503)


def test_a_did_in_plus_form_reaches_the_stored_did(fetch):
    got = answer(fetch, from_carrier("+8610000001"))
    assert got.expression == r"^\+8610000001$"
    assert bridge_of(got) == "{sip_h_X-Tenant=acme}sofia/cluster/8610000001@127.0.0.11:5080"


@pytest.mark.parametrize("did", ["8619999999", "8610000001,8610000002", "${api(system id)}", ""])
def test_an_unknown_or_malformed_did_is_rejected(fetch, did):
    assert_rejected(answer(fetch, from_carrier(did)), "from-carrier", 404)


def test_a_disabled_did_or_tenant_is_rejected(fetch, session):
    session.execute(update(Did).where(Did.number == "8610000001").values(enabled=False))
    session.execute(update(Tenant).where(Tenant.code == "globex").values(enabled=False))
    session.commit()
    assert_rejected(answer(fetch, from_carrier("8610000001")), "from-carrier", 404)
    assert_rejected(answer(fetch, from_carrier("8610000002")), "from-carrier", 403)


@pytest.mark.parametrize("context", ["public", "default", "from-router", "tenant-acme"])
def test_any_other_context_is_rejected_in_that_context(fetch, context):
    body = retarget(from_media("acme", "8613800138000"), **{"Hunt-Context": context, "Caller-Context": context})
    assert_rejected(answer(fetch, body), context, 403)


def test_a_context_that_is_not_a_name_gets_not_found(fetch):
    body = retarget(from_media("acme", "8613800138000"), **{"Hunt-Context": "${x}", "Caller-Context": "${x}"})
    assert fetch(body, node="router-1").data == NOT_FOUND


def test_the_captured_sip_invite_retargeted_to_the_router_is_routed(fetch):
    body = retarget(captured_request("dialplan-sip-invite"), hostname="router-1",
                    **{"Hunt-Context": "from-media", "Caller-Context": "from-media", "variable_sip_h_X-Tenant": "initech",
                       "variable_sip_network_ip": "127.0.0.12", "variable_sofia_profile_name": "cluster",
                       "Hunt-Destination-Number": "4420123", "Caller-Destination-Number": "4420123"})
    assert bridge_of(answer(fetch, body)) == "sofia/gateway/carrier-a/04420123|sofia/gateway/carrier-b/4420123"


@pytest.mark.parametrize("body, context, profile", [
    (lambda: from_media("acme", "8613800138000"), "from-media", "carrier"),
    (lambda: from_media("acme", "8613800138000"), "from-media", "internal"),
    (lambda: from_carrier("8610000001"), "from-carrier", "cluster"),
])
def test_a_call_on_another_profile_than_its_context_belongs_to_is_refused(fetch, body, context, profile):
    assert_rejected(answer(fetch, retarget(body(), variable_sofia_profile_name=profile)), context, 403)


@pytest.mark.parametrize("column", ["max_calls", "max_cps"])
def test_a_tenant_limit_of_zero_refuses_its_calls(fetch, session, column):
    session.execute(update(Tenant).where(Tenant.code == "acme").values(**{column: 0}))
    session.commit()
    got = answer(fetch, from_media("acme", "8613800138000"))
    assert_rejected(got, "from-media", 403)
    assert got.actions[-1] == ("respond", "403 Calls Not Allowed")


def test_xmlcurl_render_prints_the_router_answer_for_a_captured_body(app):
    path = CONFORMANCE / "cluster" / "router-1_dialplan_from-media.body"
    result = app.test_cli_runner().invoke(args=["render", "--node", "router-1", str(path)])
    assert result.exit_code == 0, result.output
    assert B_THEN_A in result.output


def test_a_stored_tenant_code_that_only_collates_equal_is_never_served(fetch, session):
    # MySQL compares 'ACME' and 'acme ' equal to 'acme'; only the exact code may reach action data.
    session.execute(update(Tenant).where(Tenant.code == "acme").values(code="ACME"))
    session.commit()
    got = answer(fetch, from_media("acme", "8613800138000"))
    assert got.extension == "reject" and got.actions[-1][1] in {"403 Unknown Tenant", "503 Configuration Error"}


def test_media_node_address_matches_whatever_way_sofia_writes_it(app, fetch):
    with app.app_context():
        sess = db.session()
        sess.execute(update(Node).where(Node.name == "media-1").values(sip_address="2001:db8::11"))
        sess.commit()
    body = retarget(cluster_body("router-1_dialplan_from-media"), variable_sip_network_ip="2001:0DB8:0:0::11")
    assert bridge_of(answer(fetch, body)) == B_THEN_A


def test_a_cached_route_choice_still_depends_on_the_number_length(fetch, session):
    # Both numbers match only the default prefix; carrier-a's strip_digits leaves no digit of the
    # short one. The choice is cached per matching prefixes, so the length must be part of its key.
    session.execute(update(Gateway).where(Gateway.name == "carrier-a").values(strip_digits=5))
    session.commit()
    long_call, short_call = answer(fetch, from_media("initech", "442012345")), answer(fetch, from_media("initech", "44201"))
    assert bridge_of(long_call) == "sofia/gateway/carrier-a/02345|sofia/gateway/carrier-b/442012345"
    assert bridge_of(short_call) == "sofia/gateway/carrier-b/44201"
    assert bridge_of(answer(fetch, from_media("initech", "442012345"))) == bridge_of(long_call)


def test_a_tenant_own_route_is_not_shared_with_tenants_that_have_none(fetch, session):
    # acme's first call fills the choice kept for tenants without own routes for '1'; globex has
    # its own '1' route and must still get it, and acme must not get globex's.
    acme_first = bridge_of(answer(fetch, from_media("acme", "15551234567")))
    assert bridge_of(answer(fetch, from_media("globex", "15551234567", "media-2"))) == "sofia/gateway/carrier-b/15551234567"
    assert bridge_of(answer(fetch, from_media("acme", "15551234567"))) == acme_first
    assert "carrier-a" in acme_first


def test_of_two_pinned_media_nodes_sharing_an_address_the_router_call_names_the_first_by_name_once(app, session):
    from tests.fetch.test_dialplan_cluster_calls import add_media_node
    from xmlcurl.fetch.dialplan import queries

    address = session.scalar(select(Node.sip_address).where(Node.name == "media-1"))

    def router_call() -> queries.RouterCall:
        with app.app_context():
            return queries.router_call(db.fetch_connection(), "acme", address, queries.prefixes_of("8613800138000"))

    before = router_call()
    add_media_node(session, "media-0", address, {"acme": 5})
    after = router_call()
    assert before.media_node.name == "media-1" and after.media_node.name == "media-0"
    assert after.candidates == before.candidates and after.tenant == before.tenant
