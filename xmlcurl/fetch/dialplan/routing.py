"""Route selection for the router's `from-media` calls: pure functions, plus `explain` for route-test and the admin.

Rules (DESIGN.md section 3):
- usable candidates: route and gateway enabled, a route of all tenants or of this tenant, a prefix
  that starts the number, and a number format (strip, prepend) that gives a valid number;
- the longest usable prefix wins; at that length the tenant's own routes, if any, replace the
  routes of all tenants;
- in the winning set, priority ascending (failover order); at equal priority a weighted random
  order (Efraimidis-Spirakis: each leg's chance of going first is proportional to its weight);
  weight 0 marks a standby leg, tried only after every weighted leg of its priority, by name;
- media bypasses the router unless a chosen gateway says `proxy`: bypass_media applies to the
  whole bridge, so one proxy leg proxies them all (bypassing a proxy carrier would break it,
  proxying a bypass carrier only costs router CPU).
"""
from __future__ import annotations

import dataclasses

import random
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence, TypeVar

from sqlalchemy.orm import Session

from .. import scopes
from . import queries
from .data import Candidate, NodeInfo, TenantInfo
from .numbers import (
    DIALLED, GATEWAY_NAME, NUMBER, PREPEND, TENANT_CODE, InvalidValue, checked, matches, normalise,
)

T = TypeVar("T")

#: The fetch path's source of leg order (random.random is safe to share between threads).
_RNG = random.Random()


@dataclass(frozen=True)
class Leg:
    """One gateway attempt: the route it came from and the number it sends."""

    candidate: Candidate
    number: str

    @property
    def dial(self) -> str:
        return f"sofia/gateway/{self.candidate.gateway}/{self.number}"


@dataclass(frozen=True)
class Unused:
    """A candidate that matched the number but gives no leg, and why."""

    candidate: Candidate
    reason: str


@dataclass(frozen=True)
class RoutePlan:
    """What the router does with a number: legs in order, and how they were chosen."""

    number: str
    prefix: str | None = None
    scope: str | None = None
    legs: tuple[Leg, ...] = ()
    unused: tuple[Unused, ...] = ()
    #: Priorities whose legs were shuffled by weight (more than one weighted leg).
    shuffled_priorities: tuple[int, ...] = ()

    @property
    def bypass_media(self) -> bool:
        return all(leg.candidate.media_mode != "proxy" for leg in self.legs)

    @property
    def bridge(self) -> str:
        return "|".join(leg.dial for leg in self.legs)


@dataclass(frozen=True)
class Rejection:
    """A call refused: SIP status and a fixed reason phrase (never caller text)."""

    status: int
    reason: str
    detail: str = ""


@dataclass
class RouteDecision:
    """The router's decision for a tenant's number, as the dialplan and route-test both use it."""

    tenant_code: str
    number: str
    tenant: TenantInfo | None = None
    media_node: NodeInfo | None = None
    plan: RoutePlan | None = None
    rejection: Rejection | None = None
    notes: list[str] = field(default_factory=list)


def leg_number(number: str, strip_digits: int, prepend: str) -> str:
    """The number in a gateway's format: the first strip_digits digits removed, prepend put in front."""
    checked(PREPEND, prepend, "gateway prepend")
    if strip_digits < 0 or strip_digits >= len(number):
        raise InvalidValue("gateway strip_digits leaves no number")
    return prepend + number[strip_digits:]


def why_unusable(candidate: Candidate, number: str, tenant_id: int) -> str | None:
    """None if the candidate can carry this number for this tenant, else the reason it cannot."""
    if candidate.tenant_id is not None and candidate.tenant_id != tenant_id:
        return "route of another tenant"
    if not number.startswith(candidate.prefix):
        return "prefix does not match"
    if not candidate.route_enabled:
        return "route disabled"
    if not candidate.gateway_enabled:
        return "gateway disabled"
    if not matches(GATEWAY_NAME, candidate.gateway):
        return "gateway name not usable in a dial string"
    try:
        leg_number(number, candidate.strip_digits, candidate.prepend)
    except InvalidValue as exc:
        return str(exc)
    return None


def winning_set(candidates: Iterable[Candidate], tenant_id: int) -> list[Candidate]:
    """Among usable candidates: the longest prefix, and at that length tenant routes over global ones."""
    pool = list(candidates)
    if not pool:
        return []
    longest = max(len(c.prefix) for c in pool)
    at_longest = [c for c in pool if len(c.prefix) == longest]
    own = [c for c in at_longest if c.tenant_id == tenant_id]
    return own or at_longest


def weighted_order(group: list[Candidate], rng: random.Random) -> list[Candidate]:
    """One priority group: weighted random order, then weight-0 standby legs by gateway name."""
    weighted, standby = _by_weight(group)
    return _shuffled(weighted, rng) + list(standby)


def _by_weight(group: Iterable[Candidate]) -> tuple[tuple[Candidate, ...], tuple[Candidate, ...]]:
    """(weighted legs, weight-0 standby legs), each by gateway name."""
    ordered = sorted(group, key=lambda c: (c.gateway, c.route_id))
    return tuple(c for c in ordered if c.weight > 0), tuple(c for c in ordered if c.weight <= 0)


def _shuffled(weighted: Sequence[Candidate], rng: random.Random) -> list[Candidate]:
    # Efraimidis-Spirakis: sort by u ** (1 / w) descending; P(first) is proportional to the weight.
    if len(weighted) < 2:
        return list(weighted)
    keyed = [(rng.random() ** (1.0 / c.weight), c) for c in weighted]
    keyed.sort(key=lambda pair: pair[0], reverse=True)
    return [c for _, c in keyed]


@dataclass(frozen=True)
class PriorityGroup:
    """The winning candidates of one priority: weighted ones and standby ones, each by gateway name."""

    priority: int
    weighted: tuple[Candidate, ...]
    standby: tuple[Candidate, ...]


@dataclass(frozen=True)
class Selection:
    """Which candidates carry a number, before the per-call random order: what `plan_route` decides once.

    For candidates whose prefixes all start the number it depends only on the number's length
    (a gateway's strip_digits must leave digits), so the fetch path keeps it per matching prefixes.
    """

    prefix: str | None
    scope: str | None
    groups: tuple[PriorityGroup, ...]
    unused: tuple[Unused, ...]


def select_routes(candidates: Iterable[Candidate], number: str, tenant_id: int) -> Selection:
    """The winning set for `number` (a validated NUMBER), grouped by priority, and why the others lost."""
    usable: list[Candidate] = []
    unused: list[Unused] = []
    for candidate in candidates:
        reason = why_unusable(candidate, number, tenant_id)
        if reason is None:
            usable.append(candidate)
        elif reason != "route of another tenant":
            unused.append(Unused(candidate, reason))
    winners = winning_set(usable, tenant_id)
    if not winners:
        return Selection(None, None, (), tuple(sorted(unused, key=_unused_order)))
    won = {id(c) for c in winners}
    for candidate in usable:
        if id(candidate) not in won:
            unused.append(Unused(candidate, _lost_because(candidate, winners[0])))
    unused.sort(key=_unused_order)
    groups = []
    for priority in sorted({c.priority for c in winners}):
        groups.append(PriorityGroup(priority, *_by_weight(c for c in winners if c.priority == priority)))
    return Selection(winners[0].prefix, winners[0].scope, tuple(groups), tuple(unused))


def order_legs(selection: Selection, number: str, rng: random.Random | None = None) -> RoutePlan:
    """This call's legs: priorities in order, each shuffled by weight; the number in each gateway's format."""
    checked(NUMBER, number, "number")
    if not selection.groups:
        return RoutePlan(number=number, unused=selection.unused)
    rng = rng or _RNG
    legs: list[Leg] = []
    shuffled: list[int] = []
    for group in selection.groups:
        if len(group.weighted) > 1:
            shuffled.append(group.priority)
        for candidate in _shuffled(group.weighted, rng) + list(group.standby):
            # select_routes checked the format (strip leaves digits, prepend is digits).
            legs.append(Leg(candidate, candidate.prepend + number[candidate.strip_digits:]))
    return RoutePlan(
        number=number, prefix=selection.prefix, scope=selection.scope, legs=tuple(legs),
        unused=selection.unused, shuffled_priorities=tuple(shuffled),
    )


def plan_route(candidates: Iterable[Candidate], number: str, tenant_id: int,
               rng: random.Random | None = None) -> RoutePlan:
    """Choose the legs for `number` (a NUMBER, checked by order_legs) from the candidates of one query."""
    return order_legs(select_routes(candidates, number, tenant_id), number, rng)


def _unused_order(unused: Unused) -> tuple:
    c = unused.candidate
    return (-len(c.prefix), c.scope, c.priority, c.gateway, c.route_id)


def _lost_because(candidate: Candidate, winner: Candidate) -> str:
    if len(candidate.prefix) < len(winner.prefix):
        return f"shorter prefix than {winner.prefix!r}"
    return "routes of all tenants lose to the tenant's own at equal length"


def route_selection(open_session: Callable[[], Session], tenant_id: int, number: str,
                    cached: Callable[..., T],
                    loaded: queries.RouterCall | None = None) -> Selection:
    """The routes that carry the number, found without a per-number query or choice on a warm cache.

    The prefixes routed for all tenants and for this tenant are kept per configuration version;
    candidates and their selection are then keyed by the prefixes that match (few, unlike numbers)
    and the number's length, the only other thing the selection depends on. (Without a cache,
    `decide` reads the routes of the number's own prefixes with the tenant.) `loaded`: what this fetch
    read with the tenant (the routes of the number's prefixes), used instead of another statement.
    The lists of routed prefixes are read once per scope and configuration version (a statement of
    their own: every tenant's calls share the list of the routes of all tenants).
    """
    prefixes = queries.prefixes_of(number)
    matching = []
    for scope in (0, tenant_id):  # the routes of all tenants, then the tenant's own
        routed = cached(("route-prefixes", scope), lambda scope=scope: queries.route_prefixes(open_session(), scope),
                        scopes.routed_prefixes() if scope == 0 else scopes.tenant(scope))
        matching.append(tuple(p for p in prefixes if p in routed))

    def candidates(scope: int, scope_matching: tuple[str, ...]) -> tuple[Candidate, ...]:
        # Routes of all tenants are keyed without the tenant: every tenant calling the same
        # country shares them. A tenant without own routes for the number needs no query at all.
        if not scope_matching:
            return ()
        def load() -> tuple[Candidate, ...]:
            if loaded is not None:
                return tuple(c for c in loaded.candidates
                             if (c.tenant_id or 0) == scope and c.prefix in scope_matching)
            return queries.route_candidates(open_session(), (scope,), scope_matching)

        return cached(("route-candidates", scope, scope_matching), load,
                      _routes_scope(scope, scope_matching) + scopes.shared("gateways"))

    def select() -> Selection:
        found = candidates(0, matching[0]) + candidates(tenant_id, matching[1])
        return select_routes(found, number, tenant_id)

    # Without own routes for the number, the choice is the same for every tenant: keep it once.
    owner = tenant_id if matching[1] else 0
    return cached(("route-selection", owner, *matching, len(number)), select,
                  (scopes.tenant(owner) if owner else ()) + scopes.routes_for_all(matching[0])
                  + scopes.shared("gateways"))


def _routes_scope(tenant_id: int, prefixes: tuple[str, ...]) -> scopes.Scope:
    """Routes for all tenants (0) are shared rows, scoped by prefix (a change to one route for all
    tenants costs only the answers of its prefix); a tenant's own routes are its rows."""
    return scopes.routes_for_all(prefixes) if tenant_id == 0 else scopes.tenant(tenant_id)


def _router_call_scope(found: queries.RouterCall) -> scopes.Scope:
    """A tenant's call on a router: the tenant's rows and node rows (its media node at the address);
    while no tenant has the code, any tenant row."""
    if found.tenant is None:
        return scopes.any_of("tenants")
    return scopes.tenant(found.tenant.id) + scopes.shared("nodes")


def decide(open_session: Callable[[], Session], tenant_code: str, number: str, media_address: str | None,
           rng: random.Random | None = None, check_pinning: bool = True,
           cached: Callable[..., T] | None = None) -> RouteDecision:
    """Everything the router checks for a call from a media node, in the order it checks it.

    The router dialplan calls this with the calling node's address and its fetch cache
    (`cached(key_parts, loader, scope)`, None when the cache is off); route-test calls it with a media
    node's address, or with check_pinning=False to see a tenant's routes from anywhere.
    """
    decision = RouteDecision(tenant_code=tenant_code, number=number)
    if not matches(TENANT_CODE, tenant_code):
        decision.rejection = Rejection(403, "Unknown Tenant", "X-Tenant missing or malformed")
        return decision
    if not matches(NUMBER, number):
        decision.rejection = Rejection(404, "Invalid Number", "number is not 3-20 digits")
        return decision
    address = media_address or ""
    if cached is None:
        # One statement: the tenant, its media node at the address and the routes of the number's prefixes.
        found = queries.router_call(open_session(), tenant_code, address, queries.prefixes_of(number))
    else:
        # The routes are cached by the prefixes that match (see route_selection), not per number; a
        # cold call reads the number's with the tenant, in the same statement.
        loaded: list[queries.RouterCall] = []

        def load() -> queries.RouterCall:
            loaded.append(queries.router_call(open_session(), tenant_code, address, queries.prefixes_of(number)))
            return dataclasses.replace(loaded[0], candidates=())

        found = cached(("router-call", tenant_code, address), load, _router_call_scope)
    tenant = found.tenant
    decision.tenant = tenant
    if tenant is None:
        decision.rejection = Rejection(403, "Unknown Tenant", "no such tenant")
        return decision
    if not tenant.enabled:
        decision.rejection = Rejection(403, "Tenant Disabled", "tenant disabled")
        return decision
    if tenant.code != tenant_code:
        # Only the exact stored code goes into action data (MySQL compares case- and pad-insensitively).
        decision.rejection = Rejection(503, "Configuration Error", "stored tenant code differs from X-Tenant")
        return decision
    if tenant.max_calls <= 0 or tenant.max_cps <= 0:
        # A rate limit of 0 would still let the first call of every second through (mod_hash).
        decision.rejection = Rejection(403, "Calls Not Allowed", "tenant call or rate limit is 0")
        return decision
    if check_pinning:
        node = found.media_node
        if node is None:
            decision.rejection = Rejection(
                403, "Tenant Not Served", "tenant not pinned to an enabled media node at the call's address"
            )
            return decision
        decision.media_node = node
    else:
        decision.notes.append("no calling media node given: pinning not checked")
    selection = (select_routes(found.candidates, number, tenant.id) if cached is None
                 else route_selection(open_session, tenant.id, number, cached, loaded[0] if loaded else None))
    plan = order_legs(selection, number, rng)
    decision.plan = plan
    if not plan.legs:
        decision.rejection = Rejection(404, "No Route", "no enabled route matches the number")
    return decision


def explain(session: Session, tenant_code: str, dialled: str, media_node: str | None = None,
            rng: random.Random | None = None) -> RouteDecision:
    """The router's decision for a number a tenant's user dials, for route-test and the admin's route-test page.

    The number is first normalised with the tenant's numbering plan, as the media node does.
    With `media_node` (a node name) the call is taken as coming from that node, pinning checked.
    """
    number = dialled
    notes: list[str] = []
    tenant = queries.tenant_by_code(session, tenant_code) if matches(TENANT_CODE, tenant_code) else None
    if tenant is not None and matches(DIALLED, dialled):
        try:
            number = normalise(dialled, tenant.plan)
        except InvalidValue:
            pass
        if number != dialled:
            notes.append(f"dialled {dialled} is sent to the routers as {number} (tenant numbering plan)")
    address = None
    if media_node is not None:
        node = queries.node_by_name(session, media_node)
        if node is None or node.role != "media":
            decision = RouteDecision(tenant_code=tenant_code, number=number, tenant=tenant, notes=notes)
            decision.rejection = Rejection(403, "Tenant Not Served", f"no media node named {media_node!r}")
            return decision
        address = node.sip_address
    decision = decide(lambda: session, tenant_code, number, address, rng, check_pinning=media_node is not None)
    decision.notes[:0] = notes
    return decision


def as_dict(decision: RouteDecision) -> dict:
    """The decision as plain JSON-ready data (for the admin and `route-test --json`)."""
    plan = decision.plan
    return {
        "tenant": decision.tenant_code,
        "number": decision.number,
        "media_node": decision.media_node.name if decision.media_node else None,
        "rejection": None if decision.rejection is None else {
            "status": decision.rejection.status, "reason": decision.rejection.reason,
            "detail": decision.rejection.detail,
        },
        "prefix": plan.prefix if plan else None,
        "scope": plan.scope if plan else None,
        "bypass_media": plan.bypass_media if plan and plan.legs else None,
        "bridge": plan.bridge if plan else "",
        "shuffled_priorities": list(plan.shuffled_priorities) if plan else [],
        "legs": [
            {
                "gateway": leg.candidate.gateway, "prefix": leg.candidate.prefix, "scope": leg.candidate.scope,
                "priority": leg.candidate.priority, "weight": leg.candidate.weight, "number_sent": leg.number,
                "media_mode": leg.candidate.media_mode, "dial": leg.dial, "route_id": leg.candidate.route_id,
            }
            for leg in (plan.legs if plan else ())
        ],
        "unused": [
            {"gateway": u.candidate.gateway, "prefix": u.candidate.prefix, "scope": u.candidate.scope,
             "priority": u.candidate.priority, "route_id": u.candidate.route_id, "reason": u.reason}
            for u in (plan.unused if plan else ())
        ],
        "notes": list(decision.notes),
    }
