"""Router dialplan: calls from media nodes out to the carriers, and DIDs from the carriers in to media nodes."""
from __future__ import annotations

from lxml import etree

from .. import scopes
from ..context import FetchContext
from ..registry import handles
from . import queries
from .common import Call, describe, reject
from .data import NodeInfo, TenantInfo
from .extension import FINAL_CAUSES, Action, build_extension
from .numbers import CONTEXT, DID, GATEWAY_NAME, TENANT_CODE, anchored, did_forms, is_ip, matches, sip_host
from .routing import RoutePlan, Rejection, decide


def build_route(context: str, tenant: TenantInfo, plan: RoutePlan) -> etree._Element:
    """Out to the carriers: tenant limits, no custom headers copied, the legs of the plan with failover."""
    code = tenant.code
    shared = [
        Action("set", f"tenant={code}"),
        # mod_hash counts per router: with n routers a tenant may reach n times these limits.
        Action("limit", f"hash tenant-calls-router {code} {max(tenant.max_calls, 0)} !USER_BUSY"),
        Action("limit", f"hash tenant-cps {code} {max(tenant.max_cps, 0)}/1 !USER_BUSY"),
        # Else the X-Tenant header (and any X- header a caller slipped in) goes to the carrier.
        Action("set", "sip_copy_custom_headers=false"),
        Action("set", "hangup_after_bridge=true"),
    ]
    own = [Action("set", "bypass_media=true")] if plan.bypass_media else []
    own.append(Action("set", f"fail_on_single_reject={FINAL_CAUSES}"))
    own.append(Action("bridge", plan.bridge))
    return build_extension(context, "route", anchored(plan.number), shared, own)


def build_did(context: str, dialled: str, did_number: str, tenant_code: str, nodes: list[NodeInfo],
              profile: str) -> etree._Element:
    """In to the tenant's media nodes, preferred first, X-Tenant set for the media node's checks."""
    legs = "|".join(f"sofia/{profile}/{did_number}@{sip_host(n.sip_address)}:{n.cluster_port}" for n in nodes)
    return build_extension(context, "did", anchored(dialled), [
        Action("set", f"tenant={tenant_code}"),
        Action("set", "sip_copy_custom_headers=false"),
        Action("set", "hangup_after_bridge=true"),
        Action("set", "bypass_media=true"),
    ], [Action("bridge", f"{{sip_h_X-Tenant={tenant_code}}}{legs}")])


def from_media(ctx: FetchContext, call: Call) -> etree._Element:
    """A tenant's outbound call: the tenant must be pinned to the media node it came from.

    Every router routes every tenant: what it looks up does not depend on which router asks, so it
    is cached once for all of them (`ctx.shared`).
    """
    address = call.network_ip if is_ip(call.network_ip) else None
    decision = decide(ctx.open_session, call.x_tenant, call.destination, address,
                      cached=ctx.shared if ctx.cache is not None else None)
    if decision.rejection is not None:
        return reject(ctx, call.context, decision.rejection)
    assert decision.tenant is not None and decision.plan is not None
    plan = decision.plan
    ctx.outcome = f"route {plan.scope} prefix {plan.prefix!r} legs {len(plan.legs)}"
    return build_route(call.context, decision.tenant, plan)


def from_carrier(ctx: FetchContext, call: Call) -> etree._Element:
    """An inbound DID: to its tenant's enabled media nodes in weight order."""
    context = call.context
    if not matches(DID, call.destination):
        return reject(ctx, context, Rejection(404, "Invalid Number", "not digits with an optional +"))
    forms = did_forms(call.destination)
    # The DID's tenant, its media nodes (node rows) and, as for every DID by number, any DID.
    found = ctx.shared(("carrier-did", *forms), lambda: queries.carrier_did(ctx.session, forms),
                       scopes.found(lambda found: found.did.tenant.id, scopes.any_of("dids"),
                                    scopes.any_of("dids") + scopes.shared("nodes")))
    did = None if found is None else found.did
    if found is None or did is None or not did.user_enabled:
        return reject(ctx, context, Rejection(404, "Unknown Number", "no enabled DID with an enabled user"))
    tenant = did.tenant
    if not tenant.enabled:
        return reject(ctx, context, Rejection(403, "Tenant Disabled", "the DID's tenant is disabled"))
    profile = ctx.settings["CLUSTER_PROFILE"]
    if not (matches(TENANT_CODE, tenant.code) and matches(DID, did.number) and matches(GATEWAY_NAME, profile)):
        return reject(ctx, context, Rejection(503, "Configuration Error", "stored tenant, DID or profile unusable"))
    nodes = [n for n in found.media_nodes if is_ip(n.sip_address)]
    if not nodes:
        return reject(ctx, context, Rejection(503, "No Media Node", "the tenant has no enabled media node"))
    ctx.outcome = f"did to {len(nodes)} media node(s)"
    return build_did(context, call.destination, did.number, tenant.code, nodes, profile)


@handles("dialplan", "router")
def router_dialplan(ctx: FetchContext) -> etree._Element | None:
    """One extension for this call in the context its profile gave it (from-media or from-carrier)."""
    call = Call.of(ctx.request)
    ctx.key = describe(call)
    if not matches(CONTEXT, call.context):
        ctx.outcome = "no usable context in the fetch"
        return None
    # The profile a call arrived on decides its context; a mismatch means a forged or stray call.
    expected = {ctx.settings["FROM_MEDIA_CONTEXT"]: ("CLUSTER_PROFILE", from_media),
                ctx.settings["FROM_CARRIER_CONTEXT"]: ("CARRIER_PROFILE", from_carrier)}
    if call.context in expected:
        profile_setting, handler = expected[call.context]
        if call.profile and call.profile != ctx.settings[profile_setting]:
            return reject(ctx, call.context, Rejection(403, "Forbidden", f"call not on the {profile_setting.lower()}"))
        return handler(ctx, call)
    return reject(ctx, call.context, Rejection(403, "Context Not Served", "routers serve only from-media and from-carrier"))
