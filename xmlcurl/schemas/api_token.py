"""API token: a bearer token for scripts, acting as its admin user; shown once, stored as SHA-256."""
from __future__ import annotations

from marshmallow import fields, validate

from .common import BaseSchema, plain_text


class ApiTokenSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    admin_user_id = fields.Integer()
    name = fields.String(required=True, validate=[validate.Length(min=1, max=64), plain_text])
    created_at = fields.DateTime(dump_only=True)
    last_used_at = fields.DateTime(dump_only=True)
    revoked_at = fields.DateTime(dump_only=True)


class NewApiTokenSchema(ApiTokenSchema):
    """The answer to a create: the only time the token itself is shown."""

    token = fields.String(dump_only=True)
