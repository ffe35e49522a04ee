"""The dialplan's database lookups: one statement per kind of call (indexed lookups), each returning plain data."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Gateway, Node, Route, SipUser, Tenant
from ..callerids import presentable_numbers, presentable_sql
from ..context import Reads
from ..packed import PackedQuery, json_list
from .data import Candidate, DidInfo, NodeInfo, TenantInfo, UserInfo
from .numbers import NumberingPlan


def _tenant_info(tenant: Tenant) -> TenantInfo:
    return TenantInfo(
        id=tenant.id,
        code=tenant.code,
        sip_domain=tenant.sip_domain,
        context=tenant.context,
        max_calls=tenant.max_calls,
        max_cps=tenant.max_cps,
        default_cid_number=tenant.default_cid_number,
        default_cid_name=tenant.default_cid_name,
        plan=NumberingPlan(tenant.country_code, tenant.national_prefix, tenant.international_prefix),
        enabled=bool(tenant.enabled),
    )


def tenant_by_code(session: Session, code: str) -> TenantInfo | None:
    tenant = session.scalars(select(Tenant).where(Tenant.code == code)).first()
    return None if tenant is None else _tenant_info(tenant)


def user(session: Reads, tenant_id: int, username: str) -> UserInfo | None:
    """An enabled user of the tenant (unique key lookup)."""
    row = session.execute(
        select(SipUser.username, SipUser.outbound_cid_number, SipUser.outbound_cid_name, SipUser.cid_number).where(
            SipUser.tenant_id == tenant_id, SipUser.username == username, SipUser.enabled.is_(True)
        )
    ).first()
    return None if row is None else UserInfo(row.username, row.outbound_cid_number, row.outbound_cid_name,
                                             row.cid_number)


def prefixes_of(number: str, longest: int = 32) -> list[str]:
    """Every prefix of the number, the empty one included, up to the longest a route may hold."""
    return [number[:n] for n in range(min(len(number), longest) + 1)]


def route_prefixes(session: Reads, scope: int) -> frozenset[str]:
    """The distinct prefixes routed for one scope (a tenant's id, or 0 for all tenants)."""
    return frozenset(row[0] for row in session.execute(select(Route.prefix).where(Route.tenant_scope == scope).distinct()))


def route_candidates(session: Reads, scopes: tuple[int, ...], prefixes: tuple[str, ...]) -> tuple[Candidate, ...]:
    """Routes of these scopes (a tenant's id, 0 for all tenants) with one of these prefixes, with their gateways.

    One query on the (tenant_scope, prefix, gateway_id) key; disabled rows come back too so
    route-test can say why they were not used.
    """
    if not prefixes:
        return ()
    rows = session.execute(
        select(
            Route.id, Route.prefix, Route.tenant_id, Route.priority, Route.weight, Route.enabled.label("route_enabled"),
            Gateway.name, Gateway.strip_digits, Gateway.prepend, Gateway.media_mode,
            Gateway.enabled.label("gateway_enabled"),
        )
        .join(Gateway, Gateway.id == Route.gateway_id)
        .where(Route.tenant_scope.in_(scopes), Route.prefix.in_(prefixes))
    ).all()
    # Plain columns, not ORM objects: a default route may have dozens of gateways.
    return tuple(
        Candidate(
            route_id=r.id, prefix=r.prefix, tenant_id=r.tenant_id, priority=r.priority, weight=r.weight,
            gateway=r.name, strip_digits=r.strip_digits, prepend=r.prepend, media_mode=r.media_mode,
            route_enabled=bool(r.route_enabled), gateway_enabled=bool(r.gateway_enabled),
        )
        for r in rows
    )


def node_by_name(session: Session, name: str) -> NodeInfo | None:
    row = session.execute(
        select(Node.name, Node.sip_address, Node.cluster_port, Node.role).where(Node.name == name)
    ).first()
    return None if row is None else NodeInfo(row.name, row.sip_address, row.cluster_port, role=row.role)


# --- one statement per cold call ------------------------------------------------------------------
# Each statement below returns everything one kind of call needs, as rows told apart by `part`, with
# numbers in n1..n6 and text in c1..c8 (what each part holds is written beside it). Plain columns,
# no ORM objects; compiled once and sent on the fetch path's autocommit connection.

#: The columns of every part of FROM_ROUTER and FROM_CARRIER, packed in this order.
_PART_COLUMNS = {name: name for name in ("part", "n1", "n2", "n3", "n4", "n5", "n6",
                                         "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8")}


def _flag(value: Any) -> bool:
    """A 0/1 (or COUNT, or NULL) value of a packed row as a bool: MariaDB may pack a number as a string
    ('0' for an EXISTS the optimizer folded into a constant, a union's numbers)."""
    return bool(int(value or 0))


def _by_part(rows: list[Any]) -> dict[int, list[Any]]:
    """The rows of a statement whose parts are told apart by its `part` column, in their order."""
    parts: dict[int, list[Any]] = {}
    for row in rows:
        parts.setdefault(int(row.part), []).append(row)
    return parts


#: The tenant columns every call statement selects first, in the order `_tenant_row` reads them.
_TENANT_COLUMNS = """
    id AS n1, max_calls AS n2, max_cps AS n3, enabled AS n4, {pinned} AS n5, {extra} AS n6,
    code AS c1, sip_domain AS c2, context AS c3, default_cid_number AS c4, default_cid_name AS c5,
    country_code AS c6, national_prefix AS c7, international_prefix AS c8"""


def _tenant_row(row: Any) -> TenantInfo:
    return TenantInfo(
        id=int(row.n1), code=row.c1, sip_domain=row.c2, context=row.c3, max_calls=int(row.n2), max_cps=int(row.n3),
        default_cid_number=row.c4, default_cid_name=row.c5, plan=NumberingPlan(row.c6, row.c7, row.c8),
        enabled=_flag(row.n4),
    )


#: A tenant's own columns under their own names, for _tenant_columns (the tenant is `t`).
_TENANT_OWN_COLUMNS = {name: f"t.{name}" for name in (
    "id", "code", "sip_domain", "context", "max_calls", "max_cps", "default_cid_number", "default_cid_name",
    "country_code", "national_prefix", "international_prefix", "enabled")}


#: A call from a user of a tenant (its context), asked by a media node, as key lookups in one row: the
#: tenant with whether it is pinned to the asking node and (when asked for) its longest username, the
#: calling and the dialled user, which of the caller numbers the call may present are the tenant's, and as
#: one JSON list the enabled routers and the tenant's enabled media nodes, each a JSON array
#: [role, name, sip_address, cluster_port, weight] (one row, not one per node: see ROUTER_CALL).
TENANT_CALL = PackedQuery(
    {
        **_TENANT_OWN_COLUMNS,
        "pinned": "EXISTS (SELECT 1 FROM tenant_nodes here WHERE here.tenant_id = t.id AND here.node_id = :node_id)",
        "longest_username": "CASE WHEN :with_longest = 1 THEN "
                            "(SELECT MAX(LENGTH(l.username)) FROM sip_users l WHERE l.tenant_id = t.id) END",
        "caller": "caller.username", "caller_outbound_cid_number": "caller.outbound_cid_number",
        "caller_outbound_cid_name": "caller.outbound_cid_name", "caller_cid_number": "caller.cid_number",
        "callee": "callee.username", "callee_outbound_cid_number": "callee.outbound_cid_number",
        "callee_outbound_cid_name": "callee.outbound_cid_name", "callee_cid_number": "callee.cid_number",
        **presentable_sql("caller.outbound_cid_number", "caller.cid_number", "t.default_cid_number"),
        "nodes": """(SELECT JSON_ARRAYAGG(JSON_ARRAY(n.role, n.name, n.sip_address, n.cluster_port, tn.weight))
     FROM nodes n LEFT JOIN tenant_nodes tn ON tn.tenant_id = t.id AND tn.node_id = n.id
     WHERE n.enabled = 1 AND (n.role = 'router' OR (n.role = 'media' AND tn.node_id IS NOT NULL)))""",
    },
    """
FROM tenants t
LEFT JOIN sip_users caller ON caller.tenant_id = t.id AND caller.username = :caller AND caller.enabled = 1
LEFT JOIN sip_users callee ON callee.tenant_id = t.id AND callee.username = :callee AND callee.enabled = 1
WHERE t.context = :context
""")


@dataclass(frozen=True)
class TenantCall:
    """What a call from a tenant's user needs (`callee` only for the dialled name it was loaded with)."""

    tenant: TenantInfo
    pinned: bool
    longest_username: int | None
    caller: UserInfo | None
    callee: UserInfo | None
    media_nodes: tuple[NodeInfo, ...]
    routers: tuple[NodeInfo, ...]
    approved: frozenset[str]


def _tenant_columns(r: Any) -> TenantInfo:
    """The tenant of a statement that selects the tenant's columns under their own names (t.id, t.code, ...)."""
    return TenantInfo(
        id=int(r.id), code=r.code, sip_domain=r.sip_domain, context=r.context, max_calls=int(r.max_calls),
        max_cps=int(r.max_cps), default_cid_number=r.default_cid_number, default_cid_name=r.default_cid_name,
        plan=NumberingPlan(r.country_code, r.national_prefix, r.international_prefix), enabled=_flag(r.enabled),
    )


def _user_row(row: Any) -> UserInfo:
    return UserInfo(row.c1, row.c2, row.c3, row.c4)


def tenant_call(conn: Reads, context: str, node_id: int, caller: str | None, callee: str | None,
                with_longest: bool) -> TenantCall | None:
    """Everything a call in a tenant's context needs, in one statement (None: no tenant has the context)."""
    rows = TENANT_CALL.rows(conn, {"context": context, "node_id": node_id, "caller": caller, "callee": callee,
                                   "with_longest": 1 if with_longest else 0})
    if not rows:
        return None
    r = rows[0]
    nodes = json_list(r.nodes)
    tenant = _tenant_columns(r)
    approved = presentable_numbers(r)
    return TenantCall(
        tenant=tenant,
        pinned=_flag(r.pinned),
        longest_username=int(r.longest_username or 0) if with_longest else None,
        caller=None if r.caller is None else UserInfo(r.caller, r.caller_outbound_cid_number,
                                                      r.caller_outbound_cid_name, r.caller_cid_number),
        callee=None if r.callee is None else UserInfo(r.callee, r.callee_outbound_cid_number,
                                                      r.callee_outbound_cid_name, r.callee_cid_number),
        media_nodes=tuple(sorted((NodeInfo(name, address, int(port), int(weight))
                                  for role, name, address, port, weight in nodes if role == "media"),
                                 key=lambda node: (-node.weight, node.name))),
        routers=tuple(sorted((NodeInfo(name, address, int(port)) for role, name, address, port, _ in nodes
                              if role == "router"), key=lambda node: node.name)),
        approved=approved,
    )


#: The enabled DID stored under one of :forms (with and without '+'; the first by number).
_DID_CTE = """did AS (
    SELECT d.number, d.tenant_id, u.username, u.enabled AS user_enabled
    FROM dids d JOIN sip_users u ON u.id = d.user_id
    WHERE d.number IN :forms AND d.enabled = 1
    ORDER BY d.number LIMIT 1
)"""

#: A call arriving on a media node's cluster profile, from a router (a DID) or another media node (a user):
#:   0 n1: 1 if an enabled router has the call's address
#:   1 the enabled media node at the address (first by name): n1 cluster_port, c1 name, c2 sip_address
#:   2 the DID's tenant (n5: pinned to the asking node), 3 the DID: c1 number, c2 username, n1 user enabled
#:   4 the tenant named by X-Tenant (:code), 5 its enabled media nodes, preferred first: n1 cluster_port,
#:     n2 weight, c1 name, c2 sip_address, 6 its enabled user named by the dialled number: c1 username...
FROM_ROUTER = PackedQuery(
    _PART_COLUMNS,
    """
FROM (
SELECT 0 AS part, COUNT(*) AS n1, NULL AS n2, NULL AS n3, NULL AS n4, NULL AS n5, NULL AS n6, NULL AS c1,
       NULL AS c2, NULL AS c3, NULL AS c4, NULL AS c5, NULL AS c6, NULL AS c7, NULL AS c8
FROM nodes WHERE sip_address = :address AND role = 'router' AND enabled = 1
UNION ALL
SELECT * FROM (
    SELECT 1 AS part, cluster_port AS n1, NULL AS n2, NULL AS n3, NULL AS n4, NULL AS n5, NULL AS n6,
           name AS c1, sip_address AS c2, NULL AS c3, NULL AS c4, NULL AS c5, NULL AS c6, NULL AS c7, NULL AS c8
    FROM nodes WHERE sip_address = :address AND role = 'media' AND enabled = 1 ORDER BY name LIMIT 1
) media_at
UNION ALL
SELECT 2, """ + _TENANT_COLUMNS.format(
    pinned="(SELECT COUNT(*) FROM tenant_nodes tn WHERE tn.tenant_id = t.id AND tn.node_id = :node_id)",
    extra="NULL") + """
FROM tenants t JOIN did ON did.tenant_id = t.id
UNION ALL
SELECT 3, user_enabled, NULL, NULL, NULL, NULL, NULL, number, username, NULL, NULL, NULL, NULL, NULL, NULL FROM did
UNION ALL
SELECT 4, """ + _TENANT_COLUMNS.format(pinned="NULL", extra="NULL") + """
FROM named
UNION ALL
SELECT 5, n.cluster_port, tn.weight, NULL, NULL, NULL, NULL, n.name, n.sip_address, NULL, NULL, NULL, NULL, NULL, NULL
FROM nodes n JOIN tenant_nodes tn ON tn.node_id = n.id JOIN named ON tn.tenant_id = named.id
WHERE n.role = 'media' AND n.enabled = 1
UNION ALL
SELECT 6, NULL, NULL, NULL, NULL, NULL, NULL,
       u.username, u.outbound_cid_number, u.outbound_cid_name, u.cid_number, NULL, NULL, NULL, NULL
FROM sip_users u JOIN named ON u.tenant_id = named.id WHERE u.username = :dialled AND u.enabled = 1
) found
ORDER BY part, n2 DESC, c1
""", expanding=("forms",), with_=_DID_CTE + ", named AS (SELECT * FROM tenants WHERE code = :code)")


@dataclass(frozen=True)
class FromRouterCall:
    """What a call on the cluster profile needs: who sent it, and the DID or the named tenant's user."""

    from_router: bool
    media_source: NodeInfo | None
    did: DidInfo | None
    did_pinned: bool
    named_tenant: TenantInfo | None
    named_media_nodes: tuple[NodeInfo, ...]
    named_user: UserInfo | None


def from_router_call(conn: Reads, node_id: int, address: str, forms: list[str], code: str,
                     dialled: str) -> FromRouterCall:
    """Everything a call on the cluster profile may need, in one statement."""
    parts = _by_part(FROM_ROUTER.rows(conn, {"node_id": node_id, "address": address, "forms": forms or [""],
                                             "code": code, "dialled": dialled}))
    media_at = parts.get(1)
    did_tenant, did_row = parts.get(2), parts.get(3)
    did = None
    if did_tenant and did_row:
        did = DidInfo(number=did_row[0].c1, tenant=_tenant_row(did_tenant[0]), username=did_row[0].c2,
                      user_enabled=_flag(did_row[0].n1))
    named = parts.get(4)
    return FromRouterCall(
        from_router=_flag(parts[0][0].n1),
        media_source=None if not media_at else NodeInfo(media_at[0].c1, media_at[0].c2, int(media_at[0].n1),
                                                        role="media"),
        did=did,
        did_pinned=bool(did_tenant) and _flag(did_tenant[0].n5),
        named_tenant=_tenant_row(named[0]) if named else None,
        named_media_nodes=tuple(NodeInfo(r.c1, r.c2, int(r.n1), int(r.n2)) for r in parts.get(5, ())),
        named_user=next((_user_row(r) for r in parts.get(6, ())), None),
    )


#: An inbound DID on a router: 0 the DID's tenant, 1 the DID (c1 number, c2 username, n1 user enabled),
#: 2 the tenant's enabled media nodes, preferred first (n1 cluster_port, n2 weight, c1 name, c2 sip_address).
FROM_CARRIER = PackedQuery(
    _PART_COLUMNS,
    """
FROM (
SELECT 0 AS part, """ + _TENANT_COLUMNS.format(pinned="NULL", extra="NULL") + """
FROM tenants JOIN did ON did.tenant_id = tenants.id
UNION ALL
SELECT 1, user_enabled, NULL, NULL, NULL, NULL, NULL, number, username, NULL, NULL, NULL, NULL, NULL, NULL FROM did
UNION ALL
SELECT 2, n.cluster_port, tn.weight, NULL, NULL, NULL, NULL, n.name, n.sip_address, NULL, NULL, NULL, NULL, NULL, NULL
FROM nodes n JOIN tenant_nodes tn ON tn.node_id = n.id JOIN did ON tn.tenant_id = did.tenant_id
WHERE n.role = 'media' AND n.enabled = 1
) found
ORDER BY part, n2 DESC, c1
""", expanding=("forms",), with_=_DID_CTE)


@dataclass(frozen=True)
class CarrierDid:
    """An inbound DID with its tenant and the tenant's enabled media nodes."""

    did: DidInfo
    media_nodes: tuple[NodeInfo, ...]


def carrier_did(conn: Reads, forms: list[str]) -> CarrierDid | None:
    """The enabled DID stored under one of `forms`, its tenant and media nodes, in one statement."""
    parts = _by_part(FROM_CARRIER.rows(conn, {"forms": forms}))
    if not parts.get(0) or not parts.get(1):
        return None
    did_row = parts[1][0]
    did = DidInfo(number=did_row.c1, tenant=_tenant_row(parts[0][0]), username=did_row.c2,
                  user_enabled=_flag(did_row.n1))
    return CarrierDid(did, tuple(NodeInfo(r.c1, r.c2, int(r.n1), int(r.n2)) for r in parts.get(2, ())))


#: A tenant's outbound call on a router (X-Tenant :code, from the media node at :address, to a number
#: whose prefixes are :prefixes), as key lookups in one row: the tenant, the enabled media node at the
#: address it is pinned to (an outer join, not an ORDER BY ... LIMIT 1 subquery, which made MariaDB sort
#: in a temporary table: a row per node if two share the address), and as one JSON list every route of
#: all tenants or of the tenant with one of the prefixes, joined with its gateway (disabled ones too, so
#: route-test can say why they were not used). One row, not one per route: the driver parses every
#: value of every row in Python, and the tenant's columns repeated on each route's row cost more than
#: the statement itself. Each route is a JSON array in ROUTE_FIELDS' order (MariaDB builds arrays in
#: half the time of objects with keys); the outer join to gateways keeps MariaDB reading routes first,
#: by their (tenant_scope, prefix) key (with an inner join it started from gateways: 10 ms a call
#: instead of 0.4).
ROUTER_CALL = PackedQuery(
    {
        **_TENANT_OWN_COLUMNS,
        "media_name": "m.name", "media_address": "m.sip_address", "media_port": "m.cluster_port",
        "media_weight": "pin.weight",
        "routes": """(SELECT JSON_ARRAYAGG(JSON_ARRAY(r.id, r.tenant_id, r.prefix, r.priority, r.weight, r.enabled,
                                         g.name, g.strip_digits, g.prepend, g.media_mode, g.enabled))
     FROM routes r LEFT JOIN gateways g ON g.id = r.gateway_id
     WHERE r.tenant_scope IN (0, t.id) AND r.prefix IN :prefixes)""",
    },
    """
FROM tenants t
LEFT JOIN (tenant_nodes pin JOIN nodes m ON m.id = pin.node_id AND m.sip_address = :address AND m.role = 'media'
                                          AND m.enabled = 1)
       ON pin.tenant_id = t.id
WHERE t.code = :code
""", expanding=("prefixes",))


#: The fields of a route in ROUTER_CALL's JSON arrays, in their order.
ROUTE_FIELDS = ("route_id", "tenant_id", "prefix", "priority", "weight", "route_enabled",
                "gateway", "strip_digits", "prepend", "media_mode", "gateway_enabled")


def _candidate(values: list) -> Candidate:
    """A route of ROUTER_CALL's JSON list (its flags come as 0/1, on MariaDB and SQLite alike)."""
    route = dict(zip(ROUTE_FIELDS, values))
    route["route_enabled"], route["gateway_enabled"] = _flag(route["route_enabled"]), _flag(route["gateway_enabled"])
    return Candidate(**route)


@dataclass(frozen=True)
class RouterCall:
    """What a router needs for a tenant's outbound call: the tenant, its media node at the call's address,
    and the routes that may carry the number (when asked for)."""

    tenant: TenantInfo | None
    media_node: NodeInfo | None
    candidates: tuple[Candidate, ...]


def router_call(conn: Reads, code: str, address: str, prefixes: list[str]) -> RouterCall:
    """The tenant, its pinned media node at `address` and the routes of `prefixes`, in one statement."""
    # "x" is no route's prefix (they are digits): an IN list may not be empty, and padded to a multiple
    # of 8 it takes one of 5 lengths, not 33: each length is a statement of its own, prepared on every
    # connection of every worker (MariaDB holds at most max_prepared_stmt_count of them in all).
    padded = list(prefixes) or ["x"]
    padded += ["x"] * (-len(padded) % 8)
    rows = ROUTER_CALL.rows(conn, {"code": code, "address": address, "prefixes": padded})
    if not rows:
        return RouterCall(None, None, ())
    # One row per pinned media node at the address (two sharing one is rare): the first by name is the caller.
    r = min(rows, key=lambda row: row.media_name or "")
    tenant = _tenant_columns(r)
    media = None if r.media_name is None else NodeInfo(r.media_name, r.media_address, int(r.media_port),
                                                       int(r.media_weight))
    return RouterCall(tenant, media, tuple(_candidate(route) for route in json_list(r.routes)))
