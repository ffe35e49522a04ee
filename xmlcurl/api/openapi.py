"""The OpenAPI 3 description of the API, built from the recorded routes and the marshmallow schemas."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import jsonify
from marshmallow import Schema

from . import bp
from .views import OPERATIONS, Operation

_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
STATUS_TEXT = {200: "OK", 201: "Created", 204: "No content", 401: "Missing, unknown or revoked token",
               405: "Method not allowed",
               413: "Body too large: over XMLCURL_MAX_REQUEST_BYTES (CSV imports: XMLCURL_MAX_UPLOAD_BYTES)",
               404: "Not found (or outside the caller's tenant)", 409: "Conflict: a constraint or dependent rows",
               422: "Invalid input: field messages in errors"}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "status", "message", "errors"],
    "properties": {
        "code": {"type": "string", "example": "invalid"},
        "status": {"type": "integer", "example": 422},
        "message": {"type": "string"},
        "errors": {"type": "object", "description": "field -> messages; 'constraint' names a violated constraint; "
                                                   "'dependents' lists rows that block a delete",
                   "additionalProperties": True},
    },
}

IMPORT_REPORT_SCHEMA = {
    "type": "object",
    "properties": {"entity": {"type": "string"}, "rows": {"type": "integer"}, "created": {"type": "integer"},
                   "applied": {"type": "boolean"},
                   "rejected": {"type": "array", "items": {"type": "object", "properties": {
                       "line": {"type": "integer"}, "errors": {"type": "object", "additionalProperties": True}}}}},
}


def openapi_path(rule: str) -> str:
    """Flask's /x/<int:ident> as OpenAPI's /x/{ident}."""
    return _PARAM.sub(lambda m: "{" + m.group(2) + "}", rule)


def operation_id(op: Operation) -> str:
    """e.g. get_tenants, get_tenants_ident, post_sip_users_import (unique: one per method and path)."""
    words = re.sub(r"[^A-Za-z0-9]+", "_", _PARAM.sub(lambda m: m.group(2), op.path)).strip("_")
    return f"{op.method.lower()}_{words}"


def _component(spec: APISpec, schema: Schema, partial: bool = False) -> str:
    name = type(schema).__name__.removesuffix("Schema") + ("Patch" if partial else "")
    if name not in spec.components.schemas:
        spec.components.schema(name, schema=type(schema)(partial=True) if partial else type(schema))
    return name


def _operation(spec: APISpec, op: Operation) -> dict[str, Any]:
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "integer" if kind == "int" else "string"}}
              for kind, name in _PARAM.findall(op.path)]
    if op.listing:
        params += [
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
            {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
            {"name": "sort", "in": "query", "description": "a field name, '-' in front for descending",
             "schema": {"type": "string"}},
        ]
    params += [{"name": name, "in": "query", "schema": {"type": "string"}} for name in op.filters]
    operation: dict[str, Any] = {"summary": op.summary, "tags": [op.tag], "parameters": params,
                                 "operationId": operation_id(op)}
    if op.request is not None:
        name = _component(spec, op.request, partial=op.method == "PATCH")
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": name}}}
    responses: dict[str, Any] = {}
    if op.upload:
        operation["requestBody"] = {"required": True, "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}},
        }}
        responses["200"] = {"description": "Every row was imported",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImportReport"}}}}
    elif op.content_type == "text/csv":
        responses["200"] = {"description": "The rows as CSV, with the import's columns",
                            "content": {"text/csv": {"schema": {"type": "string"}}}}
    elif op.response is not None and op.status != 204:
        ref = {"$ref": f"#/components/schemas/{_component(spec, op.response)}"}
        schema: Any = ref
        if op.listing:
            schema = {"type": "object", "required": ["items", "total", "page", "per_page"], "properties": {
                "items": {"type": "array", "items": ref}, "total": {"type": "integer"},
                "page": {"type": "integer"}, "per_page": {"type": "integer"}}}
        responses[str(op.status)] = {"description": STATUS_TEXT[op.status], "content": {op.content_type: {"schema": schema}}}
    else:
        responses[str(op.status)] = {"description": STATUS_TEXT[op.status]}
    takes_body = op.request is not None or op.upload
    for status in (401, *op.extra_responses, *((422,) if op.listing else ()), *((413,) if takes_body else ())):
        responses[str(status)] = {"description": STATUS_TEXT[status],
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    operation["responses"] = responses
    return operation


@lru_cache(maxsize=1)
def build_spec() -> dict[str, Any]:
    """The whole description (built once per process; it depends only on the code)."""
    spec = APISpec(title="xmlcurl API", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "Manage tenants, nodes, pinning, SIP users, gateways, routes, DIDs and "
                                        "admin users. Authenticate with `Authorization: Bearer <token>`."},
                   servers=[{"url": "/api/v1"}], security=[{"bearer": []}])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", ERROR_SCHEMA)
    spec.components.schema("ImportReport", IMPORT_REPORT_SCHEMA)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(openapi_path(op.path), {})[op.method.lower()] = _operation(spec, op)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    document["paths"]["/openapi.json"] = {"get": {
        "summary": "This description", "tags": ["meta"], "security": [], "operationId": "get_openapi",
        "responses": {"200": {"description": "The OpenAPI 3 document", "content": {"application/json": {"schema": {"type": "object"}}}}},
    }}
    return document


@bp.route("/openapi.json", methods=["GET"])
def openapi_document():
    """Serve the OpenAPI description (no token needed: it holds no data)."""
    return jsonify(build_spec())
