"""Bulk work through the API: many rows at once, and a tenant deleted with everything it owns."""
from __future__ import annotations

from marshmallow import fields, validate

from .common import BaseSchema

BULK_ACTIONS = ("enable", "disable", "delete")


class BulkSchema(BaseSchema):
    action = fields.String(required=True, validate=validate.OneOf(BULK_ACTIONS))
    ids = fields.List(fields.Integer(), required=True, validate=validate.Length(min=1, max=10_000))
    count = fields.Integer(dump_only=True, metadata={"description": "rows changed"})


class TenantPurgeSchema(BaseSchema):
    confirm = fields.String(required=True, load_only=True, metadata={"description": "the tenant's code, typed to confirm"})
    deleted = fields.Dict(keys=fields.String(), values=fields.Integer(), dump_only=True,
                          metadata={"description": "rows deleted per kind"})
