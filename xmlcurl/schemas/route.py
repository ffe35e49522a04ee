"""Route: destination prefix -> gateway, for one tenant or all (tenant_id empty)."""
from __future__ import annotations

from marshmallow import fields, validate

from .common import BaseSchema, digits


class RouteSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    tenant_id = fields.Integer(allow_none=True)
    prefix = fields.String(validate=digits(0, 32))
    gateway_id = fields.Integer(required=True)
    priority = fields.Integer(validate=validate.Range(min=0, max=1_000_000))
    weight = fields.Integer(validate=validate.Range(min=0, max=1_000_000))
    enabled = fields.Boolean()
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
