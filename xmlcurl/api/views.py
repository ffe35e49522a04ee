"""API routes: list, get, create, update, delete per resource, plus tokens, audit and CSV import/export."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Response, current_app, g, jsonify, request, stream_with_context
from marshmallow import Schema

from .. import db, limits, schemas
from ..services import (ListParams, admin_users, api_tokens, audit, bulk, caller_ids, csv_io, dids, gateways, nodes,
                        pinning, routes, sip_users, tenants)
from ..services.common import load
from ..services.errors import Invalid
from . import bp


@dataclass(frozen=True)
class Operation:
    """One documented route: what the OpenAPI description is built from."""

    path: str  # Flask rule, e.g. /tenants/<int:ident>
    method: str
    summary: str
    tag: str
    request: Schema | None = None
    response: Schema | None = None
    status: int = 200
    listing: bool = False
    filters: tuple[str, ...] = ()
    content_type: str = "application/json"
    upload: bool = False  # the body is a CSV file (text/csv or a multipart 'file')
    extra_responses: tuple[int, ...] = field(default=())


OPERATIONS: list[Operation] = []


def route(op: Operation) -> Callable:
    """Register a view under `op.path` and record it for the OpenAPI description."""
    def decorate(view: Callable) -> Callable:
        endpoint = f"{op.tag}_{view.__name__}"
        bp.add_url_rule(op.path, endpoint=endpoint, view_func=view, methods=[op.method])
        OPERATIONS.append(op)
        return view
    return decorate


# --- helpers -----------------------------------------------------------------------------------

def call(write: bool, func: Callable, *args: Any) -> Any:
    """Run a service with the request's session and actor; a write commits once, any error rolls back."""
    session = db.session()
    try:
        result = func(session, g.api_actor, *args)
        if write:
            session.commit()
        return result
    except Exception:
        session.rollback()
        raise


def body() -> dict[str, Any]:
    data = None
    if request.is_json:
        try:
            data = current_app.json.loads(request.get_data())
        except ValueError as exc:  # not JSON, not UTF-8, or nested deeper than the parser goes
            raise Invalid("the body is not valid JSON", {"_schema": [str(exc)[:200]]}) from None
    if not isinstance(data, dict):
        raise Invalid("the body must be a JSON object", {"_schema": ["send a JSON object (Content-Type: application/json)"]})
    return data


def page_json(page, schema: Schema) -> Response:
    return jsonify({"items": schema.dump(page.items, many=True), "total": page.total, "page": page.page,
                    "per_page": page.per_page})


def created(obj: Any, schema: Schema, location: str) -> Response:
    response = jsonify(schema.dump(obj))
    response.status_code = 201
    response.headers["Location"] = location
    return response


def no_content() -> Response:
    return Response(status=204)


# --- the standard resources ----------------------------------------------------------------------

@dataclass(frozen=True)
class Resource:
    path: str
    tag: str
    noun: str
    service: Any
    schema: Schema
    filters: tuple[str, ...]


RESOURCES = (
    Resource("/tenants", "tenants", "tenant", tenants, schemas.TenantSchema(), ("q", "code", "enabled")),
    Resource("/nodes", "nodes", "node", nodes, schemas.NodeSchema(), ("q", "role", "enabled")),
    Resource("/sip-users", "sip_users", "SIP user", sip_users, schemas.SipUserSchema(),
             ("q", "tenant_id", "username", "kind", "enabled")),
    Resource("/gateways", "gateways", "gateway", gateways, schemas.GatewaySchema(), ("q", "enabled", "register")),
    Resource("/routes", "routes", "route", routes, schemas.RouteSchema(),
             ("tenant_id", "applies_to", "gateway_id", "prefix", "enabled")),
    Resource("/dids", "dids", "DID", dids, schemas.DidSchema(),
             ("number", "exact_number", "tenant_id", "user_id", "enabled")),
    Resource("/caller-ids", "caller_ids", "approved caller ID", caller_ids, schemas.ApprovedCallerIdSchema(),
             ("tenant_id", "number")),
    Resource("/admin-users", "admin_users", "admin user", admin_users, schemas.AdminUserSchema(),
             ("q", "role", "tenant_id", "enabled")),
)


def _register(res: Resource) -> None:
    item = f"{res.path}/<int:ident>"

    @route(Operation(res.path, "GET", f"List {res.noun}s (paged, filtered, sorted)", res.tag, response=res.schema,
                     listing=True, filters=res.filters))
    def list_items():
        return page_json(call(False, res.service.search, ListParams.from_args(request.args)), res.schema)

    @route(Operation(res.path, "POST", f"Create a {res.noun}", res.tag, request=res.schema, response=res.schema,
                     status=201, extra_responses=(409, 422)))
    def create_item():
        obj = call(True, res.service.create, body())
        return created(obj, res.schema, f"{request.path}/{obj.id}")

    @route(Operation(item, "GET", f"Get a {res.noun}", res.tag, response=res.schema, extra_responses=(404,)))
    def get_item(ident: int):
        return jsonify(res.schema.dump(call(False, res.service.get, ident)))

    @route(Operation(item, "PATCH", f"Change some fields of a {res.noun}", res.tag, request=res.schema,
                     response=res.schema, extra_responses=(404, 409, 422)))
    def update_item(ident: int):
        return jsonify(res.schema.dump(call(True, res.service.update, ident, body())))

    @route(Operation(item, "DELETE", f"Delete a {res.noun}", res.tag, status=204, extra_responses=(404, 409)))
    def delete_item(ident: int):
        call(True, res.service.delete, ident)
        return no_content()


for _res in RESOURCES:
    _register(_res)


# --- DID ranges ----------------------------------------------------------------------------------

DID_RANGE = schemas.DidRangeSchema()


@route(Operation("/dids/assign", "POST", "Assign a range of numbers (first to last) to a tenant's DIDs, ringing "
                 "nobody yet (superadmin): all of them, or none when one is taken", "dids", request=DID_RANGE,
                 response=DID_RANGE, status=201, extra_responses=(404, 409, 422)))
def assign_did_range():
    return jsonify(DID_RANGE.dump(call(True, dids.assign_range, body()))), 201


# --- bulk work ------------------------------------------------------------------------------------

BULK = schemas.BulkSchema()
PURGE = schemas.TenantPurgeSchema()


def _bulk_view(entity: str) -> Callable:
    def view():
        data = load(BULK, body())
        return jsonify(BULK.dump({"count": call(True, bulk.apply, entity, data["ids"], data["action"])}))
    view.__name__ = f"bulk_{entity}"
    return view


for _path, _entity in (("/sip-users", "sip_user"), ("/dids", "did"), ("/routes", "route")):
    route(Operation(f"{_path}/bulk", "POST", "Enable, disable or delete many rows at once: all or none, one audit entry",
                    _path.strip("/").replace("-", "_"), request=BULK, response=BULK, extra_responses=(404, 409, 422)))(_bulk_view(_entity))


@route(Operation("/tenants/<int:ident>/delete-everything", "POST", "Delete a tenant with every row it owns "
                 "(superadmin), confirmed by its code; the answer counts what went", "tenants", request=PURGE,
                 response=PURGE, extra_responses=(404, 422)))
def delete_tenant_with_everything(ident: int):
    call(False, tenants.get, ident)  # a missing tenant, or a tenant admin, is refused before the body is read
    data = load(PURGE, body())
    return jsonify(PURGE.dump({"deleted": call(True, tenants.delete_with_everything, ident, data["confirm"])}))


# --- pinning (keyed by tenant and node) ----------------------------------------------------------

PINNING = schemas.PinningSchema()
PIN = "/pinning/<int:tenant_id>/<int:node_id>"


@route(Operation("/pinning", "GET", "List tenant pinnings", "pinning", response=PINNING, listing=True,
                 filters=("tenant_id", "node_id")))
def list_pinning():
    return page_json(call(False, pinning.search, ListParams.from_args(request.args)), PINNING)


@route(Operation("/pinning", "POST", "Pin a tenant to a media node", "pinning", request=PINNING, response=PINNING,
                 status=201, extra_responses=(409, 422)))
def create_pinning():
    pin = call(True, pinning.create, body())
    return created(pin, PINNING, f"{request.path}/{pin.tenant_id}/{pin.node_id}")


@route(Operation(PIN, "GET", "Get a pinning", "pinning", response=PINNING, extra_responses=(404,)))
def get_pinning(tenant_id: int, node_id: int):
    return jsonify(PINNING.dump(call(False, pinning.get, (tenant_id, node_id))))


@route(Operation(PIN, "PATCH", "Change a pinning's weight", "pinning", request=PINNING, response=PINNING,
                 extra_responses=(404, 422)))
def update_pinning(tenant_id: int, node_id: int):
    return jsonify(PINNING.dump(call(True, pinning.update, (tenant_id, node_id), body())))


@route(Operation(PIN, "DELETE", "Unpin a tenant from a node", "pinning", status=204, extra_responses=(404,)))
def delete_pinning(tenant_id: int, node_id: int):
    call(True, pinning.delete, (tenant_id, node_id))
    return no_content()


# --- API tokens ----------------------------------------------------------------------------------

TOKEN = schemas.ApiTokenSchema()
NEW_TOKEN = schemas.NewApiTokenSchema()


@route(Operation("/tokens", "GET", "List API tokens (a tenant admin sees its own)", "tokens", response=TOKEN,
                 listing=True, filters=("admin_user_id", "revoked")))
def list_tokens():
    return page_json(call(False, api_tokens.search, ListParams.from_args(request.args)), TOKEN)


@route(Operation("/tokens", "POST", "Create an API token (the answer is the only time it is shown)", "tokens",
                 request=TOKEN, response=NEW_TOKEN, status=201, extra_responses=(422,)))
def create_token():
    token, plaintext = call(True, api_tokens.create, body())
    answer = {**NEW_TOKEN.dump(token), "token": plaintext}
    response = jsonify(answer)
    response.status_code = 201
    response.headers["Location"] = f"{request.path}/{token.id}"
    return response


@route(Operation("/tokens/<int:ident>", "GET", "Get an API token", "tokens", response=TOKEN, extra_responses=(404,)))
def get_token(ident: int):
    return jsonify(TOKEN.dump(call(False, api_tokens.get, ident)))


@route(Operation("/tokens/<int:ident>", "DELETE", "Revoke an API token", "tokens", response=TOKEN,
                 extra_responses=(404,)))
def revoke_token(ident: int):
    return jsonify(TOKEN.dump(call(True, api_tokens.revoke, ident)))


# --- audit log -----------------------------------------------------------------------------------

AUDIT = schemas.AuditEntrySchema()


@route(Operation("/audit", "GET", "List audit entries, newest first", "audit", response=AUDIT, listing=True,
                 filters=("entity", "entity_id", "action", "actor", "source", "tenant_id", "since", "until")))
def list_audit():
    return page_json(call(False, audit.search, ListParams.from_args(request.args)), AUDIT)


# --- CSV import and export -----------------------------------------------------------------------

CSV_PATHS = {"sip_users": "/sip-users", "dids": "/dids", "routes": "/routes"}


def _csv_text() -> str:
    """The uploaded CSV: a multipart 'file' field, or the raw body (text/csv), UTF-8."""
    upload = request.files.get("file")
    raw = upload.read() if upload is not None else request.get_data()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("the file is not UTF-8 text", {"file": ["must be UTF-8 encoded CSV"]}) from None


def _register_csv(kind: str, path: str) -> None:
    tag = kind

    @route(Operation(f"{path}/import", "POST", f"Import {kind} from CSV: every row or none"
                     + (" (existing=update: existing users get the row's password and fields)" if kind == "sip_users" else ""),
                     tag, upload=True, extra_responses=(413, 422), filters=("existing",) if kind == "sip_users" else ()))
    @limits.upload
    def import_rows():
        existing = request.args.get("existing", "")
        if existing not in ("", "reject", "update"):
            raise Invalid("bad parameter", {"existing": ["must be 'reject' (the default) or 'update'"]})
        session = db.session()
        try:
            report = csv_io.import_csv(session, g.api_actor, kind, _csv_text(), update_existing=existing == "update")
            if not report.applied:
                session.rollback()
                raise Invalid(f"{len(report.rejected)} of {report.rows} rows rejected; nothing was imported",
                              {"rejected": report.rejected})
            session.commit()
        except Exception:
            session.rollback()
            raise
        return jsonify(report.as_dict())

    @route(Operation(f"{path}/export", "GET", f"Export {kind} as CSV", tag, content_type="text/csv",
                     filters=("tenant_id",)))
    def export_rows():
        raw = request.args.get("tenant_id") or ""
        tenant_id = limits.parse_id(raw) if raw else None
        if raw and tenant_id is None:
            raise Invalid("bad filter", {"tenant_id": [f"must be a whole number from 0 to {limits.MAX_INT}"]})
        chunks = call(False, csv_io.export_csv, kind, tenant_id)
        return Response(stream_with_context(chunks), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'})


for _kind, _path in CSV_PATHS.items():
    _register_csv(_kind, _path)


# --- the running cluster (the monitor's snapshot) -------------------------------------------------

def _register_cluster() -> None:
    from ..monitor import schemas as cluster_schemas, snapshot
    from ..services.actor import require_superadmin
    from ..services.errors import NotFound

    def answer(schema, items) -> Response:
        session = db.session()
        return jsonify(schema.dump({"items": items, "polled_at": snapshot.last_polled(session)}))

    def scoped_tenant() -> int | None:
        """The tenant_id filter: a tenant admin's own tenant always; another tenant's is not found."""
        raw = request.args.get("tenant_id", "")
        wanted = limits.parse_id(raw) if raw else None
        if raw and wanted is None:
            raise Invalid("bad filter", {"tenant_id": [f"must be a whole number from 0 to {limits.MAX_INT}"]})
        actor = g.api_actor
        if actor.is_superadmin:
            return wanted
        if wanted is not None and wanted != actor.tenant_id:
            raise NotFound("no such tenant")
        return actor.tenant_id

    nodes_schema, gateways_schema = cluster_schemas.ClusterNodesSchema(), cluster_schemas.ClusterGatewaysSchema()
    regs_schema, calls_schema = cluster_schemas.ClusterRegistrationsSchema(), cluster_schemas.ClusterCallsSchema()

    @route(Operation("/cluster/nodes", "GET", "Every enabled node as the monitor last saw it (superadmin)", "cluster",
                     response=nodes_schema, extra_responses=(404,)))
    def cluster_nodes():
        require_superadmin(g.api_actor, "resource")
        return answer(nodes_schema, snapshot.nodes(db.session()))

    @route(Operation("/cluster/gateways", "GET", "Every gateway of every node: state, ping status and time (superadmin)",
                     "cluster", response=gateways_schema, extra_responses=(404,)))
    def cluster_gateways():
        require_superadmin(g.api_actor, "resource")
        return answer(gateways_schema, snapshot.gateways(db.session()))

    @route(Operation("/cluster/registrations", "GET", "Where users are registered (a tenant admin: its own)", "cluster",
                     response=regs_schema, filters=("tenant_id",), extra_responses=(404, 422)))
    def cluster_registrations():
        return answer(regs_schema, snapshot.registrations(db.session(), scoped_tenant()))

    @route(Operation("/cluster/calls", "GET", "Calls up now per tenant and node, against the tenant's limits "
                     "(a tenant admin: its own)", "cluster", response=calls_schema, filters=("tenant_id",),
                     extra_responses=(404, 422)))
    def cluster_calls():
        return answer(calls_schema, snapshot.calls(db.session(), scoped_tenant()))


_register_cluster()
