"""Node: a FreeSWITCH instance (media or router) and the HTTP credentials of its xml_curl bindings."""
from __future__ import annotations

from marshmallow import fields, validate

from ..models import ROLES
from .common import BaseSchema, CidrList, Fullmatch, IpAddress, no_control

NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
PORT = validate.Range(min=1, max=65535)


class NodeSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=Fullmatch(NAME, error="must be letters, digits, '_', '.' or '-' (64 at most)"))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    sip_address = IpAddress(required=True)
    sip_port = fields.Integer(validate=PORT)
    cluster_port = fields.Integer(validate=PORT)
    http_username = fields.String(allow_none=True, validate=Fullmatch(NAME, error="must be letters, digits, '_', '.' or '-' (64 at most)"))
    # Given in plaintext on create and to rotate it; stored as an argon2 hash and never shown again.
    http_secret = fields.String(required=True, load_only=True, validate=[validate.Length(min=16, max=256), no_control])
    allowed_sources = CidrList()
    esl_port = fields.Integer(allow_none=True, validate=PORT)
    enabled = fields.Boolean()
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
