"""Media node dialplan on the demo data: tenant calls to users and out through the routers, DIDs from routers."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, update

from xmlcurl.fetch.dialplan.extension import FINAL_CAUSES
from tests.conftest import CONFORMANCE, captured_request, cluster_body, retarget
from tests.fetch.test_dialplan_builders import assert_rejected, bridge_of, parse_answer
from xmlcurl.fetch.xmldoc import NOT_FOUND
from xmlcurl.models import ApprovedCallerId, Did, Node, SipUser, Tenant, TenantNode

PINNED = {"media-1": {"acme", "initech"}, "media-2": {"globex", "initech"}}
HOSTILE_NUMBERS = [
    "8613800138000,999", "8613800138000|sofia/gateway/x/1", "86138${x}", "86138{x}", "${api(system id)}",
    "$${hostname}", "86138 000", "86138\t0", "+", "", "8613800138000;x", "86138%7Bx%7D", "1000,1001",
]


def media_call(tenant: str, number: str, node: str = "media-1", user: str = "1000", **extra: str) -> bytes:
    """The captured acme outbound call, as a user of `tenant` dialling `number` on `node`."""
    context = f"tenant-{tenant}"
    return retarget(
        cluster_body("media-1_dialplan_acme-outbound"), hostname=node,
        **{"Hunt-Context": context, "Caller-Context": context, "Hunt-Destination-Number": number,
           "Caller-Destination-Number": number, "variable_user_context": context, "variable_tenant": tenant,
           "variable_user_name": user, "variable_domain_name": f"{tenant}.example.com", **extra},
    )


def did_call(did: str, node: str = "media-1", **extra: str) -> bytes:
    return retarget(cluster_body("media-1_dialplan_from-router_did"), hostname=node,
                    **{"Hunt-Destination-Number": did, "Caller-Destination-Number": did, **extra})


def answer(fetch, body: bytes, node: str = "media-1"):
    response = fetch(body, node=node)
    assert response.status_code == 200
    return parse_answer(response.data)


def test_acme_outbound_matches_the_answer_the_real_cluster_accepted(fetch):
    got = answer(fetch, cluster_body("media-1_dialplan_acme-outbound"))
    reference = parse_answer((CONFORMANCE / "cluster" / "media-1_dialplan_acme-outbound.xml").read_bytes())
    assert (got.context, got.extension, got.field, got.expression) == (
        reference.context, reference.extension, reference.field, reference.expression)
    caller_id = [("set", "effective_caller_id_number=8657100000000"), ("set", "effective_caller_id_name=Acme")]
    final = [("set", f"fail_on_single_reject={FINAL_CAUSES}")]
    assert got.actions == reference.actions[:-1] + caller_id + final + reference.actions[-1:]


@pytest.mark.parametrize("node", sorted(PINNED))
@pytest.mark.parametrize("tenant", ["acme", "globex", "initech"])
def test_a_media_node_serves_only_the_tenants_pinned_to_it(fetch, node, tenant):
    got = answer(fetch, media_call(tenant, "8613800138000", node), node)
    assert got.context == f"tenant-{tenant}"
    if tenant in PINNED[node]:
        assert bridge_of(got) == f"{{sip_h_X-Tenant={tenant}}}sofia/gateway/router-router-1/8613800138000"
    else:
        assert_rejected(got, f"tenant-{tenant}", 403)


def test_a_disabled_tenant_is_rejected_even_on_its_own_node(fetch, session):
    session.execute(update(Tenant).where(Tenant.code == "acme").values(enabled=False))
    session.commit()
    assert_rejected(answer(fetch, media_call("acme", "8613800138000")), "tenant-acme", 403)


@pytest.mark.parametrize("tenant, node", [("acme", "media-1"), ("globex", "media-2")])
def test_a_number_that_is_another_user_of_the_tenant_rings_that_user(fetch, tenant, node):
    got = answer(fetch, media_call(tenant, "1001", node), node)
    assert (got.extension, got.expression) == ("user", "^1001$")
    # A tenant on one media node: its registration here is the only leg.
    assert bridge_of(got) == f"[leg_timeout=30]user/1001@{tenant}.example.com"
    assert ("set", "hangup_after_bridge=true") in got.actions and ("set", "call_timeout=30") in got.actions


def test_a_disabled_user_is_not_rung(fetch, session):
    session.execute(update(SipUser).where(SipUser.tenant_id == 1, SipUser.username == "1001").values(enabled=False))
    session.commit()
    got = answer(fetch, media_call("acme", "1001"))
    assert "user/" not in bridge_of(got)


@pytest.mark.parametrize("dialled", ["8613800138000", "+8613800138000", "008613800138000", "013800138000"])
def test_outbound_numbers_are_normalised_with_the_tenants_plan(fetch, dialled):
    got = answer(fetch, media_call("acme", dialled))
    assert got.expression == "^" + dialled.replace("+", r"\+") + "$"
    assert bridge_of(got).endswith("/8613800138000")


def test_globex_national_number_keeps_its_country_code(fetch):
    got = answer(fetch, media_call("globex", "15551234567", "media-2"), "media-2")
    assert bridge_of(got) == "{sip_h_X-Tenant=globex}sofia/gateway/router-router-1/15551234567"
    assert ("limit", "hash tenant-calls globex 50 !USER_BUSY") in got.actions


@pytest.mark.parametrize("number", HOSTILE_NUMBERS)
def test_hostile_numbers_are_rejected_without_any_caller_text_in_the_answer(fetch, number):
    response = fetch(media_call("acme", number))
    got = parse_answer(response.data)
    assert_rejected(got, "tenant-acme", 404)
    for _, data in got.actions:
        assert "$" not in data and "{" not in data and "," not in data and "|" not in data
    if len(number) > 3:
        assert number.encode() not in response.data


def test_a_callers_own_x_tenant_header_never_decides_the_tenant(fetch):
    got = answer(fetch, media_call("acme", "8613800138000", **{"variable_sip_h_X-Tenant": "globex"}))
    assert bridge_of(got).startswith("{sip_h_X-Tenant=acme}")
    assert ("set", "sip_h_X-Tenant=acme") in got.actions
    assert ("set", "sip_copy_custom_headers=false") in got.actions


def test_a_tenant_variable_of_another_tenant_is_refused(fetch):
    assert_rejected(answer(fetch, media_call("acme", "8613800138000", variable_tenant="globex")), "tenant-acme", 403)


@pytest.mark.parametrize("user", ["9999", "1000${x}"])
def test_an_unknown_or_malformed_calling_user_is_refused(fetch, user):
    assert_rejected(answer(fetch, media_call("acme", "8613800138000", user=user)), "tenant-acme", 403)


def test_the_users_outbound_caller_id_wins_over_the_tenant_default(fetch, session):
    session.execute(update(SipUser).where(SipUser.tenant_id == 1, SipUser.username == "1000")
                    .values(outbound_cid_number="8657112345678", outbound_cid_name="Robot Line"))
    session.execute(insert(ApprovedCallerId).values(tenant_id=1, number="8657112345678"))
    session.commit()
    got = answer(fetch, media_call("acme", "8613800138000"))
    assert ("set", "effective_caller_id_number=8657112345678") in got.actions
    assert ("set", "effective_caller_id_name=Robot Line") in got.actions


def test_a_stored_caller_id_carrying_expansions_is_never_sent(fetch, session):
    session.execute(update(SipUser).where(SipUser.tenant_id == 1, SipUser.username == "1000")
                    .values(outbound_cid_number="${api(system id)}", outbound_cid_name="x,y|z"))
    session.execute(update(Tenant).where(Tenant.code == "acme").values(default_cid_name="{evil}"))
    session.commit()
    got = answer(fetch, media_call("acme", "8613800138000"))
    assert ("set", "effective_caller_id_number=8657100000000") in got.actions
    assert not any(data.startswith("effective_caller_id_name") for _, data in got.actions)


def test_a_stored_number_not_approved_for_the_tenant_falls_back_to_its_default(fetch, session, caplog):
    # Another tenant's DID, stored with plain SQL: acme may not present it.
    session.execute(update(SipUser).where(SipUser.tenant_id == 1, SipUser.username == "1000")
                    .values(outbound_cid_number="8610000002", outbound_cid_name='x" <sip:boss@evil.test>;'))
    session.commit()
    got = answer(fetch, media_call("acme", "8613800138000"))
    assert ("set", "effective_caller_id_number=8657100000000") in got.actions
    assert ("set", "effective_caller_id_name=Acme") in got.actions
    assert "outbound_cid_number 8610000002 is not approved" in caplog.text
    assert "outbound_cid_name is not a valid caller ID name" in caplog.text


def test_withdrawing_an_approval_takes_effect_at_the_next_answer(fetch, session):
    session.execute(delete(ApprovedCallerId).where(ApprovedCallerId.number == "8657100000000"))
    session.commit()
    # No number acme may present: the call is refused rather than sent out with the username as caller ID.
    got = answer(fetch, media_call("acme", "8613800138000"))
    assert_rejected(got, "tenant-acme", 403)
    assert got.actions[-1][1] == "403 No Approved Caller ID"
    session.execute(update(SipUser).where(SipUser.tenant_id == 1, SipUser.username == "1000")
                    .values(cid_number="8610000001"))
    session.commit()
    # The tenant's own DID is always presentable; the user's own caller ID number serves when it has no outbound one.
    assert ("set", "effective_caller_id_number=8610000001") in answer(fetch, media_call("acme", "8613800138000")).actions


def test_every_enabled_router_is_a_failover_leg_in_name_order(fetch, session):
    session.execute(insert(Node).values(id=10, name="router-0", role="router", sip_address="127.0.0.13",
                                        http_username="router-0", http_secret_hash="x"))
    session.execute(insert(Node).values(id=11, name="router-9", role="router", sip_address="127.0.0.14",
                                        http_username="router-9", http_secret_hash="x", enabled=False))
    session.commit()
    assert bridge_of(answer(fetch, media_call("acme", "8613800138000"))) == (
        "{sip_h_X-Tenant=acme}sofia/gateway/router-router-0/8613800138000|sofia/gateway/router-router-1/8613800138000")


def test_no_enabled_router_is_a_503_rejection(fetch, session):
    session.execute(update(Node).where(Node.role == "router").values(enabled=False))
    session.commit()
    # router-1 itself is disabled now, but media-1 still asks.
    assert_rejected(answer(fetch, media_call("acme", "8613800138000")), "tenant-acme", 503)


@pytest.mark.parametrize("context", ["no-tenant", "default", "public", "tenant-nobody"])
def test_a_context_no_tenant_owns_is_rejected_in_that_context(fetch, context):
    body = retarget(media_call("acme", "8613800138000"), **{"Hunt-Context": context, "Caller-Context": context})
    assert_rejected(answer(fetch, body), context, 403)


@pytest.mark.parametrize("context", ["${x}", "a b", "", "tenant-acme|x"])
def test_a_context_that_is_not_a_name_gets_not_found(fetch, context):
    body = retarget(media_call("acme", "8613800138000"), **{"Hunt-Context": context, "Caller-Context": context})
    assert fetch(body).data == NOT_FOUND


def test_a_did_from_the_router_rings_its_user_as_the_real_cluster_did(fetch):
    got = answer(fetch, cluster_body("media-1_dialplan_from-router_did"))
    reference = parse_answer((CONFORMANCE / "cluster" / "media-1_dialplan_from-router_did.xml").read_bytes())
    assert got == reference


@pytest.mark.parametrize("node", sorted(PINNED))
@pytest.mark.parametrize("did, tenant, user", [
    ("8610000001", "acme", "1000"), ("8610000002", "globex", "1000"), ("8610000003", "initech", "2000"),
])
def test_a_did_is_served_only_by_a_node_its_tenant_is_pinned_to(fetch, node, did, tenant, user):
    got = answer(fetch, did_call(did, node, **{"variable_sip_h_X-Tenant": tenant}), node)
    if tenant in PINNED[node]:
        assert bridge_of(got) == f"user/{user}@{tenant}.example.com"
    else:
        assert_rejected(got, "from-router", 403)


@pytest.mark.parametrize("did", ["8619999999", "8610000001,1", "${x}"])
def test_an_unknown_or_malformed_did_is_rejected(fetch, did):
    assert_rejected(answer(fetch, did_call(did)), "from-router", 404)


def test_a_disabled_did_is_rejected(fetch, session):
    session.execute(update(Did).where(Did.number == "8610000001").values(enabled=False))
    session.commit()
    assert_rejected(answer(fetch, did_call("8610000001")), "from-router", 404)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.12", "not-an-ip"])
def test_a_did_call_not_from_an_enabled_router_is_refused(fetch, address):
    assert_rejected(answer(fetch, did_call("8610000001", variable_sip_network_ip=address)), "from-router", 403)


def test_a_did_whose_x_tenant_disagrees_is_refused(fetch):
    got = answer(fetch, did_call("8610000001", **{"variable_sip_h_X-Tenant": "initech"}))
    assert_rejected(got, "from-router", 403)


def test_the_captured_sip_invite_retargeted_to_acme_is_routed_out(fetch):
    body = retarget(captured_request("dialplan-sip-invite"), hostname="media-1",
                    **{"Hunt-Context": "tenant-acme", "Caller-Context": "tenant-acme", "variable_user_name": "1000",
                       "Hunt-Destination-Number": "013800138000", "Caller-Destination-Number": "013800138000"})
    got = answer(fetch, body)
    assert got.context == "tenant-acme"
    assert bridge_of(got) == "{sip_h_X-Tenant=acme}sofia/gateway/router-router-1/8613800138000"


def test_the_captured_public_call_is_rejected_in_its_context(fetch):
    got = answer(fetch, retarget(captured_request("dialplan-public-from-freeswitch"), hostname="media-1"))
    assert_rejected(got, "public", 403)


def test_without_hunt_fields_the_caller_context_and_number_are_used(fetch):
    # A loopback originate carries no Hunt-Destination-Number.
    body = retarget(captured_request("dialplan-loopback-originate"), hostname="media-1",
                    **{"Hunt-Context": "", "Caller-Context": "tenant-initech"})
    got = answer(fetch, body)
    assert got.context == "tenant-initech" and got.expression == "^1234$"
    assert bridge_of(got).endswith("/1234")


def test_routers_do_not_get_media_contexts(fetch):
    got = answer(fetch, media_call("acme", "8613800138000", node="router-1"), "router-1")
    assert_rejected(got, "tenant-acme", 403)


def test_a_did_call_not_on_the_cluster_profile_is_refused(fetch):
    assert_rejected(answer(fetch, did_call("8610000001", variable_sofia_profile_name="internal")), "from-router", 403)


def test_a_tenant_context_on_the_cluster_profile_is_refused(fetch):
    got = answer(fetch, media_call("acme", "8613800138000", variable_sofia_profile_name="cluster"))
    assert_rejected(got, "tenant-acme", 403)


def test_a_tenant_call_limit_of_zero_refuses_its_calls(fetch, session):
    session.execute(update(Tenant).where(Tenant.code == "acme").values(max_calls=0))
    session.commit()
    assert_rejected(answer(fetch, media_call("acme", "8613800138000")), "tenant-acme", 403)


def test_a_pinning_removed_after_a_served_call_is_honoured_on_the_next_call(fetch, session):
    assert bridge_of(answer(fetch, media_call("acme", "8613800138000")))
    session.execute(delete(TenantNode).where(TenantNode.tenant_id == 1))
    session.commit()
    assert_rejected(answer(fetch, media_call("acme", "8613800138000")), "tenant-acme", 403)
