"""Services: the only code that changes configuration rows. Shared by the JSON API, the admin pages and the CLI.

How to call them (one module per resource: tenants, nodes, pinning, sip_users, gateways, routes,
dids, caller_ids, admin_users, api_tokens; plus audit and csv_io)::

    from xmlcurl import db
    from xmlcurl.services import Actor, ListParams, ServiceError, sip_users

    actor = Actor.for_user(admin_user, source="admin")      # or Actor.cli(); API tokens give one too
    session = db.session()
    try:
        user = sip_users.create(session, actor, request.form)  # raw input: the service validates it
        session.commit()                                       # the caller commits, once
    except ServiceError as exc:                                # Invalid 422, NotFound 404, Conflict/InUse 409, Forbidden 403
        session.rollback()                                     # always roll back on any error
        show(exc.message, exc.errors)                          # errors: {field: [messages]} (+ 'constraint', 'dependents')

Form input works as is: values may be strings ("12", "on"/"true"/"false"), an empty optional field
means none, an empty secret (password, http_secret) means "keep the stored one"; an update only
touches the fields it is given, so an unticked checkbox must be sent as "false".

Every module has `search(session, actor, ListParams) -> Page` (items, total, page, per_page, pages;
ListParams.from_args(request.args) reads page, per_page, sort ('name' / '-name') and filters),
`get(session, actor, id)`, `create(session, actor, payload)`, `update(session, actor, id, payload)`
(partial) and `delete(session, actor, id)`. Pinning ids are (tenant_id, node_id) tuples;
`api_tokens.create` returns (row, token shown once) and `api_tokens.revoke` replaces delete.
Services flush, never commit; each write adds its audit row to the same transaction. Rows outside
the actor's reach raise NotFound: a tenant admin reaches only its own tenant's SIP users and DIDs
(and its own API tokens). Output is shaped with the schemas in xmlcurl.schemas (`Schema().dump(row)`).
"""
from . import (admin_users, api_tokens, audit, bulk, caller_ids, dids, gateways, nodes, pinning, routes, sip_users,  # noqa: F401
               tenants, user_ranges)
from .actor import Actor
from .common import ListParams, Page
from .errors import Conflict, Forbidden, InUse, Invalid, NotFound, ServiceError

__all__ = [
    "Actor", "Conflict", "Forbidden", "InUse", "Invalid", "ListParams", "NotFound", "Page", "ServiceError",
    "admin_users", "api_tokens", "audit", "bulk", "caller_ids", "dids", "gateways", "nodes", "pinning", "routes", "sip_users",
    "tenants", "user_ranges",
]
