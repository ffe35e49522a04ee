"""Domain errors raised by the services; each surface (API, admin, CLI) turns them into its answer."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError


class ServiceError(Exception):
    """A refusal with a message for people and field-level details for forms and scripts."""

    status = 400
    code = "error"

    def __init__(self, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotFound(ServiceError):
    """The row does not exist, or is outside what the actor may see."""

    status = 404
    code = "not_found"


class Invalid(ServiceError):
    """The input breaks a rule; `errors` maps field names to lists of messages."""

    status = 422
    code = "invalid"


class Conflict(ServiceError):
    """The change collides with another row (a unique key, a foreign key, a check)."""

    status = 409
    code = "conflict"

    def __init__(self, message: str, errors: dict[str, Any] | None = None, constraint: str | None = None) -> None:
        super().__init__(message, errors)
        self.constraint = constraint
        if constraint:
            self.errors.setdefault("constraint", constraint)


class InUse(Conflict):
    """The row cannot be deleted while others depend on it; `errors['dependents']` lists them."""

    code = "in_use"

    def __init__(self, message: str, dependents: dict[str, dict[str, Any]]) -> None:
        super().__init__(message, {"dependents": dependents})
        self.dependents = dependents


class Forbidden(ServiceError):
    """The actor is known but may not do this (e.g. delete itself)."""

    status = 403
    code = "forbidden"


# What each named constraint means, for the 409 answer: (field, message).
CONSTRAINTS: dict[str, tuple[str, str]] = {
    "uq_tenants_code": ("code", "a tenant with this code already exists"),
    "uq_tenants_sip_domain": ("sip_domain", "another tenant already uses this SIP domain"),
    "uq_tenants_context": ("context", "another tenant already uses this context"),
    "uq_nodes_name": ("name", "a node with this name already exists"),
    "uq_nodes_http_username": ("http_username", "another node already uses this HTTP username"),
    "pk_tenant_nodes": ("node_id", "the tenant is already pinned to this node"),
    "fk_tenant_nodes_tenant_id": ("tenant_id", "no such tenant"),
    "fk_tenant_nodes_node_id": ("node_id", "no such node, or it is still pinned by tenants"),
    "uq_sip_users_tenant_id_username": ("username", "the tenant already has a user with this username"),
    "fk_sip_users_tenant_id": ("tenant_id", "no such tenant, or it still has users"),
    "uq_sip_user_variables_user_id_name": ("variables", "a variable name appears twice"),
    "uq_gateways_name": ("name", "a gateway with this name already exists"),
    "ck_gateways_register_credentials": ("register", "a registering gateway needs a username and a password"),
    "uq_routes_tenant_scope_prefix_gateway_id": ("prefix", "this tenant already has a route for this prefix through this gateway"),
    "fk_routes_tenant_id": ("tenant_id", "no such tenant, or it still has routes"),
    "fk_routes_gateway_id": ("gateway_id", "no such gateway, or it still has routes"),
    "uq_dids_number": ("number", "this number is already a DID"),
    "fk_dids_tenant_user": ("user_id", "the user does not belong to this tenant, or it still has DIDs"),
    "fk_dids_tenant_id": ("tenant_id", "no such tenant, or it still has DIDs"),
    "uq_admin_users_username": ("username", "an admin user with this username already exists"),
    "ck_admin_users_role_tenant": ("tenant_id", "a tenant admin needs a tenant and a superadmin has none"),
    "fk_admin_users_tenant_id": ("tenant_id", "no such tenant, or it still has admin users"),
    "uq_api_tokens_token_hash": ("token", "token collision; create it again"),
    "fk_api_tokens_admin_user_id": ("admin_user_id", "no such admin user"),
    "uq_approved_caller_ids_tenant_id_number": ("number", "this number is already approved for this tenant"),
    "fk_approved_caller_ids_tenant_id": ("tenant_id", "no such tenant, or it still has approved caller IDs"),
}

# SQLite names no unique constraint in its message, only the columns: "UNIQUE constraint failed: t.a, t.b".
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)")
_NAME = re.compile(r"\b((?:uq|fk|ck|pk)_[a-z0-9_]+)\b")


# CHECK violations: MariaDB reports ER_CONSTRAINT_FAILED (4025) and MySQL 8 ER_CHECK_CONSTRAINT_VIOLATED
# (3819), which PyMySQL raises as OperationalError rather than IntegrityError.
CHECK_ERRNOS = frozenset({4025, 3819})


def is_constraint_violation(exc: DBAPIError) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    args = getattr(exc.orig, "args", ())
    return bool(args) and args[0] in CHECK_ERRNOS


def constraint_name(exc: DBAPIError) -> str | None:
    """The name of the violated constraint, read from the driver's message (MariaDB, MySQL, SQLite)."""
    text = str(exc.orig)
    for candidate in _NAME.findall(text):
        # MySQL 8 writes 'table.uq_name'; MariaDB 'uq_name'; the regex takes the bare name either way.
        if candidate in CONSTRAINTS:
            return candidate
    match = _SQLITE_UNIQUE.search(text)
    if match:
        from ..models import Base

        columns = [part.strip().split(".") for part in match.group(1).split(",")]
        table_name = columns[0][0]
        wanted = {col for _, col in columns}
        table = Base.metadata.tables.get(table_name)
        if table is not None:
            for constraint in table.constraints:
                names = {col.name for col in getattr(constraint, "columns", [])}
                if names == wanted and constraint.name:
                    return str(constraint.name)
    return None


def conflict_from_integrity(exc: DBAPIError) -> Conflict:
    """A Conflict naming the violated constraint (keyed on its name, never on the message text)."""
    name = constraint_name(exc)
    if name and name in CONSTRAINTS:
        field, message = CONSTRAINTS[name]
        return Conflict(message, {field: [message]}, constraint=name)
    return Conflict("the change conflicts with existing data", constraint=name)
