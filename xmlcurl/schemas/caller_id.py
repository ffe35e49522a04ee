"""Approved caller ID: a number a tenant's users may present besides its DIDs (set by a superadmin)."""
from __future__ import annotations

from marshmallow import fields, validate

from .common import BaseSchema, caller_number, plain_text


class ApprovedCallerIdSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    tenant_id = fields.Integer(required=True)
    number = fields.String(required=True, validate=caller_number)
    note = fields.String(allow_none=True, validate=[validate.Length(max=128), plain_text])
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
