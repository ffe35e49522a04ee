"""SIP user (agent or robot) of a tenant, with its extra channel variables."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from ..fetch.dialplan.numbers import USERNAME as USERNAME_PATTERN
from ..fetch.directory import VARIABLES_ALLOWED_MESSAGE, is_allowed_variable, is_reserved_variable
from ..models import KINDS
from .common import BaseSchema, Fullmatch, caller_name, caller_number, no_control, plain_text

# One pattern for the API and the dialplan, matched in full (a trailing newline is refused).
USERNAME = USERNAME_PATTERN.pattern
VARIABLE_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,63}"


def allowed_variable(name: str) -> None:
    """Refuse names xmlcurl sets itself and any name outside the allow-list (case-insensitively)."""
    if is_reserved_variable(name):
        raise ValidationError(f"{name} is set by xmlcurl itself and cannot be overridden")
    if not is_allowed_variable(name):
        raise ValidationError(VARIABLES_ALLOWED_MESSAGE)


class VariableSchema(BaseSchema):
    name = fields.String(required=True, validate=[Fullmatch(VARIABLE_NAME, error="must be a letter or '_' then letters, digits or '_' (64 at most)"), allowed_variable])
    value = fields.String(required=True, validate=[validate.Length(max=255), plain_text])


class SipUserSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    tenant_id = fields.Integer(allow_none=True)
    username = fields.String(required=True, validate=Fullmatch(USERNAME, error="must be letters, digits, '_', '.', '+' or '-' (64 at most)"))
    # Plaintext in, a1-hash stored: md5(username:sip_domain:password).
    password = fields.String(required=True, load_only=True, validate=[validate.Length(min=8, max=128), no_control])
    kind = fields.String(validate=validate.OneOf(KINDS))
    cid_name = fields.String(allow_none=True, validate=caller_name)
    cid_number = fields.String(allow_none=True, validate=caller_number)
    outbound_cid_name = fields.String(allow_none=True, validate=caller_name)
    outbound_cid_number = fields.String(allow_none=True, validate=caller_number)
    enabled = fields.Boolean()
    variables = fields.List(fields.Nested(VariableSchema))
    has_password = fields.Function(lambda user: bool(user.a1_hash), dump_only=True, metadata={"type": "boolean"})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
