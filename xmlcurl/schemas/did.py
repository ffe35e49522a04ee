"""DID: an inbound number of a tenant, ringing one of its users."""
from __future__ import annotations

from marshmallow import fields

from .common import BaseSchema, digits


class DidSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    number = fields.String(required=True, validate=digits(3, 32))
    tenant_id = fields.Integer(allow_none=True)
    user_id = fields.Integer(required=True)
    enabled = fields.Boolean()
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
