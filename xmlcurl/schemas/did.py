"""DID: an inbound number in a tenant's stock (assigned by a superadmin), ringing one of its users or nobody yet."""
from __future__ import annotations

from marshmallow import fields

from .common import BaseSchema, digits

NUMBER = digits(3, 32)


class DidSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    number = fields.String(required=True, validate=NUMBER)
    tenant_id = fields.Integer(allow_none=True)
    # Empty: the DID is in the tenant's stock but rings nobody (a call to it answers 'unknown number').
    user_id = fields.Integer(allow_none=True)
    enabled = fields.Boolean()
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class DidRangeSchema(BaseSchema):
    """A range of numbers (first to last, same length) assigned to a tenant's stock in one go."""

    tenant_id = fields.Integer(required=True)
    first = fields.String(required=True, validate=NUMBER)
    last = fields.String(required=True, validate=NUMBER)
    enabled = fields.Boolean()
    created = fields.Integer(dump_only=True)
