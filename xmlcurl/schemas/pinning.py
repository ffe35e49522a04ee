"""Pinning: a tenant served by a media node, with a weight (higher is preferred)."""
from __future__ import annotations

from marshmallow import fields, validate

from .common import BaseSchema


class PinningSchema(BaseSchema):
    tenant_id = fields.Integer(required=True)
    node_id = fields.Integer(required=True)
    weight = fields.Integer(validate=validate.Range(min=0, max=1_000_000))
    tenant_code = fields.Function(lambda pin: pin.tenant.code, dump_only=True, metadata={"type": "string"})
    node_name = fields.Function(lambda pin: pin.node.name, dump_only=True, metadata={"type": "string"})
