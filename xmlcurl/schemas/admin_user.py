"""Admin user: a person who manages the configuration (superadmin, or tenant admin of one tenant)."""
from __future__ import annotations

from marshmallow import fields, validate

from ..models import ADMIN_ROLES
from .common import BaseSchema, Fullmatch, no_control

USERNAME = r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}"


class AdminUserSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    username = fields.String(required=True, validate=Fullmatch(USERNAME, error="must be letters, digits, '_', '.', '@' or '-' (64 at most)"))
    password = fields.String(required=True, load_only=True, validate=[validate.Length(min=12, max=256), no_control])
    role = fields.String(required=True, validate=validate.OneOf(ADMIN_ROLES))
    tenant_id = fields.Integer(allow_none=True)
    enabled = fields.Boolean()
    last_login_at = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class PasswordChangeSchema(BaseSchema):
    current_password = fields.String(required=True, load_only=True)
    new_password = fields.String(required=True, load_only=True, validate=[validate.Length(min=12, max=256), no_control])
