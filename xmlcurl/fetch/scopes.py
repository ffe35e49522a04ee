"""What a cached answer depends on, and what a recorded change invalidates.

A scope is a plain string; an answer's scope is a tuple of them (combine with `+`). A change
recorded by the triggers as (table, tenant id, detail) touches the scopes `of_change` names; an
entry is dropped when any scope it depends on changed after the version it was built at.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from ..models.version import EVERY_TENANT

Scope = tuple[str, ...]

#: Touched by every change: the default, for an answer that did not say what it depends on.
EVERYTHING: Scope = ("*",)
#: Touched by a row moved between tenants: every tenant-scoped answer depends on it.
_EVERY_TENANT = "t:*"


def tenant(tenant_id: int) -> Scope:
    """Any row of one tenant: the tenant row, its users and their variables, DIDs, approved caller
    IDs, pinning (tenant_nodes) and its own routes."""
    return (f"t:{tenant_id}", _EVERY_TENANT)


def changed_tenants(changed: Iterable[str]) -> tuple[set[int], bool]:
    """The tenants whose rows these changed scopes name, and whether they name every tenant's."""
    tenants = {int(scope[2:]) for scope in changed if scope.startswith("t:") and scope != _EVERY_TENANT}
    return tenants, _EVERY_TENANT in changed


def shared(*tables: str) -> Scope:
    """Rows of these tables that belong to no tenant: nodes, gateways, routes for all tenants."""
    return tuple(f"s:{table}" for table in tables)


def any_of(*tables: str) -> Scope:
    """Any row of these tables, whatever its tenant (lookups across tenants: a DID by number, a
    tenant by domain, code or context, every tenant's pinning)."""
    return tuple(f"a:{table}" for table in tables)


#: Touched when a route for all tenants is added or removed: the set of prefixes routed may differ.
_ROUTED_PREFIXES = "s:routes+"


def routes_for_all(prefixes: Iterable[str]) -> Scope:
    """Routes for all tenants with these prefixes (and any change to them not tied to one prefix)."""
    return ("s:routes",) + tuple(f"s:routes={prefix}" for prefix in prefixes)


def routed_prefixes() -> Scope:
    """Which prefixes routes for all tenants have (and any change to them not tied to one prefix)."""
    return ("s:routes", _ROUTED_PREFIXES)


def of_change(table: str, tenant_id: int, detail: str | None = None) -> Scope:
    """The scopes a change recorded as (table, tenant id, detail) touches (tenant 0: none, -1: every
    tenant). A route for all tenants with its prefix in `detail` ('=<prefix>' changed in place,
    '+<prefix>' added or removed) touches only the answers of that prefix."""
    if table == "routes" and tenant_id == 0 and detail:
        touched = ("*", "a:routes", f"s:routes={detail[1:]}")
        return touched + (_ROUTED_PREFIXES,) if detail[0] == "+" else touched
    if tenant_id > 0:
        return ("*", f"a:{table}", f"t:{tenant_id}")
    if tenant_id == EVERY_TENANT:
        return ("*", f"a:{table}", f"s:{table}", _EVERY_TENANT)
    return ("*", f"a:{table}", f"s:{table}")


def found(tenant_of: Callable[[Any], int], otherwise: Scope, also: Scope = ()) -> Callable[[Any], Scope]:
    """The scope of a lookup across tenants, from its result: the found row's tenant (plus `also`), or
    `otherwise` when nothing was found (any new row could be the answer then)."""
    return lambda value: otherwise if value is None else tenant(tenant_of(value)) + also
