"""Media node dialplan: a tenant's calls (to its users wherever they are registered, or out through the routers),
DIDs from the routers, and calls from the tenant's other media nodes to its users registered here."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Callable, Collection

from lxml import etree

from ... import callerid
from .. import scopes
from ..context import FetchContext
from ..registry import handles
from . import queries
from .common import Call, describe, reject
from .data import NodeInfo, TenantInfo, UserInfo
from .extension import FINAL_CAUSES, USER_FINAL_CAUSES, Action, build_extension
from .numbers import (
    CONTEXT, DID, DIALLED, DOMAIN, GATEWAY_NAME, TENANT_CODE, USERNAME,
    InvalidValue, anchored, did_forms, is_ip, matches, normalise, sip_host,
)
from .routing import Rejection

INVALID_NUMBER = Rejection(404, "Invalid Number")
#: A forwarded call rings this much longer than the sending node's legs: the sending node's own timer
#: then ends an unanswered call (NO_ANSWER, final there). Were the receiving node first, its 480
#: would read as "not registered here" and the sending node would go on to its next node.
FORWARDED_RING_MARGIN = 5
NO_CALLER_ID = Rejection(403, "No Approved Caller ID",
                         "neither the user nor the tenant has a caller ID number approved for the tenant")


@dataclass(frozen=True)
class CallerId:
    number: str | None = None
    name: str | None = None


def caller_id(user: UserInfo | None, tenant: TenantInfo, approved: Collection[str]) -> CallerId:
    """The user's outbound caller ID (number: else its own caller ID number), else the tenant's default: only
    valid stored values, and only numbers approved for the tenant (`approved`); a value left out is logged."""
    own = f"user {user.username} of tenant {tenant.code}" if user else ""
    default = f"tenant {tenant.code}"
    number = name = None
    if user is not None:
        number = (callerid.usable_number(user.outbound_cid_number, approved, own, "outbound_cid_number")
                  or callerid.usable_number(user.cid_number, approved, own, "cid_number"))
        name = callerid.usable_name(user.outbound_cid_name, own, "outbound_cid_name")
    return CallerId(
        number=number or callerid.usable_number(tenant.default_cid_number, approved, default, "default_cid_number"),
        name=name or callerid.usable_name(tenant.default_cid_name, default, "default_cid_name"),
    )


def build_outbound(context: str, dialled: str, number: str, tenant: TenantInfo, cid: CallerId,
                   routers: list[NodeInfo], gateway_prefix: str) -> etree._Element:
    """Out through the routers: tenant set, X-Tenant forced, concurrency limit, routers with failover."""
    code = tenant.code
    legs = "|".join(f"sofia/gateway/{gateway_prefix}{router.name}/{number}" for router in routers)
    shared = [
        Action("set", f"tenant={code}"),
        Action("limit", f"hash tenant-calls {code} {max(tenant.max_calls, 0)} !USER_BUSY"),
        Action("set", f"sip_h_X-Tenant={code}"),
        Action("set", "sip_copy_custom_headers=false"),
        Action("set", "hangup_after_bridge=true"),
    ]
    own = []
    if cid.number:
        own.append(Action("set", f"effective_caller_id_number={cid.number}"))
    if cid.name:
        own.append(Action("set", f"effective_caller_id_name={cid.name}"))
    own.append(Action("set", f"fail_on_single_reject={FINAL_CAUSES}"))
    # The leading {..} block applies to every leg and wins over a header the caller sent.
    own.append(Action("bridge", f"{{sip_h_X-Tenant={code}}}{legs}"))
    return build_extension(context, "outbound", anchored(dialled), shared, own)


def build_user_bridge(context: str, name: str, dialled: str, tenant_code: str, username: str, domain: str,
                      call_timeout: int) -> etree._Element:
    """Ring a user of the tenant through its registration (`user/<u>@<domain>`)."""
    return build_extension(context, name, anchored(dialled), [
        Action("set", f"tenant={tenant_code}"),
        Action("set", "sip_copy_custom_headers=false"),
        Action("set", "hangup_after_bridge=true"),
        Action("set", f"call_timeout={call_timeout}"),
    ], [Action("bridge", f"user/{username}@{domain}")])


def build_user_call(context: str, dialled: str, tenant_code: str, username: str, domain: str,
                    peers: Sequence[NodeInfo], profile: str, ring_seconds: int,
                    progress_seconds: int) -> etree._Element:
    """Ring a user of the tenant wherever it is registered: on this node first, then on `peers` in order.

    Registrations are per node, so each of the tenant's other media nodes gets the call on the
    cluster profile with X-Tenant set here (in that leg's own variables: the user's phone never
    sees it); the node that has the user rings it, the others answer 480 and the next is tried.
    Every leg rings at most `ring_seconds`; a leg to another node that has not rung within
    `progress_seconds` gives way to the next node (a node that is down but silent).
    """
    ring = f"[leg_timeout={ring_seconds}]" if ring_seconds > 0 else ""
    progress = f"[leg_progress_timeout={progress_seconds}]" if progress_seconds > 0 else ""
    legs = [f"{ring}user/{username}@{domain}"]
    legs += [f"{ring}{progress}[sip_h_X-Tenant={tenant_code}]"
             f"sofia/{profile}/{username}@{sip_host(node.sip_address)}:{node.cluster_port}" for node in peers]
    return build_extension(context, "user", anchored(dialled), [
        Action("set", f"tenant={tenant_code}"),
        Action("set", "sip_copy_custom_headers=false"),
        Action("set", "hangup_after_bridge=true"),
        Action("set", f"call_timeout={ring_seconds}"),
        # Busy, declined, unanswered: the user was found, so the other nodes are not tried.
        Action("set", f"fail_on_single_reject={USER_FINAL_CAUSES}"),
    ], [Action("bridge", "|".join(legs))])


def _stored_ok(tenant: TenantInfo) -> bool:
    return matches(TENANT_CODE, tenant.code) and matches(DOMAIN, tenant.sip_domain)


def tenant_call(ctx: FetchContext, call: Call, found: queries.TenantCall,
                callee_loaded: list[UserInfo | None]) -> etree._Element:
    """A call from a user of the tenant `found` (its context), on a node the tenant is pinned to.

    `callee_loaded` holds the dialled user when this fetch loaded `found` (the statement looks it up
    too); a call whose tenant came from the cache looks the dialled user up on its own.
    """
    settings, context, tenant = ctx.settings, call.context, found.tenant
    if call.profile == settings["CLUSTER_PROFILE"]:
        return reject(ctx, context, Rejection(403, "Forbidden", "a tenant context on the cluster profile"))
    if tenant.max_calls <= 0:
        return reject(ctx, context, Rejection(403, "Calls Not Allowed", "tenant call limit is 0"))
    if call.tenant_var and call.tenant_var != tenant.code:
        return reject(ctx, context, Rejection(403, "Forbidden", "caller's tenant variable is another tenant"))
    caller = found.caller
    if call.user_name and caller is None:
        return reject(ctx, context, Rejection(403, "Unknown Caller", "calling user unknown or disabled"))
    dialled = call.destination
    if matches(USERNAME, dialled):
        if callee_loaded:
            callee = callee_loaded[0]
        elif len(dialled) <= (found.longest_username or 0):
            # Not cached: keyed by the dialled number. Outbound numbers longer than every username of
            # the tenant (the usual case) skip the lookup altogether.
            callee = queries.user(ctx.session, tenant.id, dialled)
        else:
            callee = None
        if callee is not None and matches(USERNAME, callee.username):
            return user_call(ctx, context, dialled, tenant, callee.username, found.media_nodes)
    if not matches(DIALLED, dialled):
        return reject(ctx, context, Rejection(404, "Invalid Number", "not digits with an optional +"))
    try:
        number = normalise(dialled, tenant.plan)
    except InvalidValue as exc:
        return reject(ctx, context, Rejection(404, "Invalid Number", str(exc)))
    prefix = settings["ROUTER_GATEWAY_PREFIX"]
    routers = [r for r in found.routers if matches(GATEWAY_NAME, prefix + r.name)]
    if not routers:
        return reject(ctx, context, Rejection(503, "No Router", "no enabled router"))
    ctx.outcome = "outbound"
    # Resolved once per caller and configuration version: a stored value left out is logged once, not per call.
    cid = ctx.cached(("caller-id", tenant.id, caller.username if caller else None),
                     lambda: caller_id(caller, tenant, found.approved), scopes.tenant(tenant.id))
    if cid.number is None:
        # The channel would otherwise present the user's own caller ID, or its username, to the carrier.
        return reject(ctx, context, NO_CALLER_ID)
    return build_outbound(context, dialled, number, tenant, cid, routers, prefix)


def user_call(ctx: FetchContext, context: str, dialled: str, tenant: TenantInfo, username: str,
              media_nodes: Sequence[NodeInfo]) -> etree._Element:
    """A call to a user of the tenant: its registration here, then the tenant's other media nodes by weight."""
    settings = ctx.settings
    profile = settings["CLUSTER_PROFILE"]
    peers = [n for n in media_nodes if n.name != ctx.node.name and is_ip(n.sip_address)]
    if not matches(GATEWAY_NAME, profile):
        peers = []
    ctx.outcome = f"user, then {len(peers)} other media node(s)" if peers else "user"
    return build_user_call(context, dialled, tenant.code, username, tenant.sip_domain, peers, profile,
                           settings["USER_CALL_TIMEOUT"], settings["CLUSTER_LEG_PROGRESS_TIMEOUT"])


def from_router(ctx: FetchContext, call: Call) -> etree._Element:
    """A call on the cluster profile: a DID from a router, or a call to a user here from another media node.

    The sender's role decides which: routers bring DIDs, media nodes bring their tenants' users' calls.
    """
    context = call.context
    if call.profile and call.profile != ctx.settings["CLUSTER_PROFILE"]:
        return reject(ctx, context, Rejection(403, "Forbidden", "from-router call not on the cluster profile"))
    address = call.network_ip
    if is_ip(address):
        forms = did_forms(call.destination) if matches(DID, call.destination) else []
        code = call.x_tenant if matches(TENANT_CODE, call.x_tenant) else ""
        dialled = call.destination if matches(USERNAME, call.destination) else ""
        # One entry per sender, tenant and number: all a call on the cluster profile depends on.
        found = ctx.cached(("from-router", address, code, call.destination),
                           lambda: queries.from_router_call(ctx.session, ctx.node.id, address, forms, code, dialled),
                           _from_router_scope(bool(forms), bool(code)))
        if found.from_router:
            return did_call(ctx, call, found)
        if found.media_source is not None:
            return peer_call(ctx, call, found)
    return reject(ctx, context, Rejection(403, "Forbidden", "call does not come from an enabled router or media node"))


def peer_call(ctx: FetchContext, call: Call, found: queries.FromRouterCall) -> etree._Element:
    """A call from another media node for a user of a tenant both nodes serve: ring its registration here only.

    The tenant is the one the sending node put in X-Tenant (it sets the header itself, from its
    caller's context; a caller's own header never gets through). It must be pinned to the sending
    node and to this one, and the number must be its enabled user. The answer bridges `user/` and
    nothing else: a call crosses between media nodes at most once, so nodes never loop it.
    """
    context, dialled, source = call.context, call.destination, found.media_source
    assert source is not None
    if source.name == ctx.node.name:
        return reject(ctx, context, Rejection(403, "Forbidden", "call from this node's own address"))
    if not matches(USERNAME, dialled):
        return reject(ctx, context, INVALID_NUMBER)
    if not matches(TENANT_CODE, call.x_tenant):
        return reject(ctx, context, Rejection(403, "Unknown Tenant", "X-Tenant missing or malformed"))
    code = call.x_tenant
    tenant = found.named_tenant
    if tenant is None or not tenant.enabled or tenant.code != code:
        return reject(ctx, context, Rejection(403, "Tenant Not Served", "X-Tenant names no enabled tenant"))
    pinned = {node.name for node in found.named_media_nodes}
    if ctx.node.name not in pinned:
        return reject(ctx, context, Rejection(403, "Tenant Not Served", "tenant not pinned here"))
    if source.name not in pinned:
        return reject(ctx, context, Rejection(403, "Tenant Not Served", "tenant not pinned to the calling media node"))
    if not _stored_ok(tenant):
        return reject(ctx, context, Rejection(503, "Configuration Error", "stored tenant code or domain unusable"))
    user = found.named_user
    if user is None or not matches(USERNAME, user.username):
        return reject(ctx, context, Rejection(404, "Unknown User", "no enabled user of the tenant"))
    ctx.outcome = f"user, from media node {source.name}"
    return build_user_bridge(context, "cluster-user", dialled, tenant.code, user.username, tenant.sip_domain,
                             ctx.settings["USER_CALL_TIMEOUT"] + FORWARDED_RING_MARGIN)


def did_call(ctx: FetchContext, call: Call, found: queries.FromRouterCall) -> etree._Element:
    """A DID arriving from a router (checked by from_router): ring its user if its tenant is pinned to this node."""
    context = call.context
    if not matches(DID, call.destination):
        return reject(ctx, context, INVALID_NUMBER)
    did = found.did
    if did is None or not did.user_enabled:
        return reject(ctx, context, Rejection(404, "Unknown Number", "no enabled DID with an enabled user"))
    tenant = did.tenant
    if not tenant.enabled or not found.did_pinned:
        return reject(ctx, context, Rejection(403, "Tenant Not Served", "DID's tenant disabled or not pinned here"))
    if call.x_tenant and call.x_tenant != tenant.code:
        return reject(ctx, context, Rejection(403, "Forbidden", "X-Tenant disagrees with the DID's tenant"))
    if not _stored_ok(tenant) or not matches(USERNAME, did.username):
        return reject(ctx, context, Rejection(503, "Configuration Error", "stored tenant or user name unusable"))
    ctx.outcome = "did"
    return build_user_bridge(context, "did", call.destination, tenant.code, did.username, tenant.sip_domain,
                             ctx.settings["USER_CALL_TIMEOUT"])


def _from_router_scope(with_did: bool, with_tenant: bool) -> Callable[[queries.FromRouterCall], scopes.Scope]:
    """What a call on the cluster profile was answered from: node rows (who sent it, the named tenant's
    media nodes); the named tenant's rows (any tenant row while none has the code); the DID's tenant and,
    as for every DID by number, any DID (another form of the number may be added)."""
    def scope(found: queries.FromRouterCall) -> scopes.Scope:
        result = scopes.shared("nodes")
        if with_tenant:
            result += scopes.any_of("tenants") if found.named_tenant is None else scopes.tenant(found.named_tenant.id)
        if with_did:
            result += scopes.any_of("dids")
            if found.did is not None:
                result += scopes.tenant(found.did.tenant.id)
        return result
    return scope


@handles("dialplan", "media")
def media_dialplan(ctx: FetchContext) -> etree._Element | None:
    """One extension for this call, in the call's context; never a context of a tenant not pinned here."""
    call = Call.of(ctx.request)
    ctx.key = describe(call)
    if not matches(CONTEXT, call.context):
        ctx.outcome = "no usable context in the fetch"
        return None
    if call.context == ctx.settings["FROM_ROUTER_CONTEXT"]:
        return from_router(ctx, call)
    caller = call.user_name if call.user_name and matches(USERNAME, call.user_name) else None
    callee = call.destination if matches(USERNAME, call.destination) else None
    callee_loaded: list[UserInfo | None] = []

    def load() -> queries.TenantCall | None:
        found = queries.tenant_call(ctx.session, call.context, ctx.node.id, caller, callee,
                                    with_longest=ctx.cache is not None)
        if found is None:
            return None
        callee_loaded.append(found.callee)
        # Kept without the dialled user: the entry serves every call of this caller.
        return replace(found, callee=None)

    # The tenant's rows, and the routers and its media nodes (node rows); not found: any new tenant.
    found = ctx.cached(("tenant-call", call.context, caller), load,
                       scopes.found(lambda found: found.tenant.id, scopes.any_of("tenants"), scopes.shared("nodes")))
    if found is None:
        return reject(ctx, call.context, Rejection(403, "Context Not Served", "no tenant has this context"))
    if not found.tenant.enabled or not found.pinned:
        return reject(ctx, call.context, Rejection(403, "Tenant Not Served", "tenant disabled or not pinned here"))
    if not _stored_ok(found.tenant):
        return reject(ctx, call.context, Rejection(503, "Configuration Error", "stored tenant code or domain unusable"))
    return tenant_call(ctx, call, found, callee_loaded)
