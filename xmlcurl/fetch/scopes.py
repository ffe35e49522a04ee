"""What a cached answer depends on, and what a recorded change invalidates.

A scope is a plain string; an answer's scope is a tuple of them (combine with `+`). A change
recorded by the triggers as (table, tenant id, detail) touches the scopes `of_change` names; an
entry is dropped when any scope it depends on changed after the version it was built at.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from ..models.version import EVERY_TENANT, USER_TABLES

Scope = tuple[str, ...]

#: Touched by every change: the default, for an answer that did not say what it depends on.
EVERYTHING: Scope = ("*",)
#: Touched by a row moved between tenants: every tenant-scoped answer depends on it.
_EVERY_TENANT = "t:*"
#: What a change naming one user touches: "u:<tenant id>:<username>".
_USER = "u:"


def tenant(tenant_id: int) -> Scope:
    """Any row of one tenant: the tenant row, its users and their variables, DIDs, approved caller
    IDs, pinning (tenant_nodes) and its own routes."""
    return (f"t:{tenant_id}", _EVERY_TENANT)


def tenant_rows(tenant_id: int) -> Scope:
    """The tenant's rows but those a change names one user by (its users' rows and their variables):
    what a domain's answer is made of."""
    return (f"w:{tenant_id}", _EVERY_TENANT)


def user(tenant_id: int, username: str) -> Scope:
    """The directory answer of the user `username` (its name as stored: a lookup by another spelling the
    collation takes for it has the same scope): the tenant's rows and that user's, not those of its
    other users. A name the triggers do not record a change by (trailing spaces, a line break:
    models/version.py, `_named_user`) depends on any row of the tenant."""
    if "\n" in username or username.endswith(" "):
        return tenant(tenant_id)
    return tenant_rows(tenant_id) + (f"{_USER}{tenant_id}:{username}",)


def is_user_change(scope: str) -> bool:
    """Whether a changed scope names one user (of_change): a worker holds one for each user changed."""
    return scope.startswith(_USER)


def names_user(scope: Scope) -> bool:
    """Whether `scope` is one user's (`user`): one of a kind, not worth sharing between entries."""
    return bool(scope) and is_user_change(scope[-1])


def changed_tenants(changed: Iterable[str]) -> tuple[set[int], set[tuple[int, str]], bool]:
    """What these changed scopes name: the tenants whose every answer changed, the users (tenant id,
    username) whose answers changed, and whether every tenant's answers changed."""
    tenants = {int(scope[2:]) for scope in changed if scope.startswith("w:")}
    users = set()
    for scope in changed:
        if is_user_change(scope):
            tenant_id, _, username = scope[len(_USER):].partition(":")
            users.add((int(tenant_id), username))
    return tenants, users, _EVERY_TENANT in changed


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
    '+<prefix>' added or removed) touches only the answers of that prefix; a user's row or variable
    with its username in `detail` ('=<username>') only that user's among the tenant's user answers."""
    if table == "routes" and tenant_id == 0 and detail:
        touched = ("*", "a:routes", f"s:routes={detail[1:]}")
        return touched + (_ROUTED_PREFIXES,) if detail[0] == "+" else touched
    if tenant_id > 0:
        if table in USER_TABLES and detail and detail[0] == "=":  # one user's row: that user's answers
            return ("*", f"a:{table}", f"t:{tenant_id}", f"{_USER}{tenant_id}:{detail[1:]}")
        return ("*", f"a:{table}", f"t:{tenant_id}", f"w:{tenant_id}")
    if tenant_id == EVERY_TENANT:
        return ("*", f"a:{table}", f"s:{table}", _EVERY_TENANT)
    return ("*", f"a:{table}", f"s:{table}")


def found(tenant_of: Callable[[Any], int], otherwise: Scope, also: Scope = ()) -> Callable[[Any], Scope]:
    """The scope of a lookup across tenants, from its result: the found row's tenant (plus `also`), or
    `otherwise` when nothing was found (any new row could be the answer then)."""
    return lambda value: otherwise if value is None else tenant(tenant_of(value)) + also
