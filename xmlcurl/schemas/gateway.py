"""Gateway: a carrier trunk held by the routers' carrier profile."""
from __future__ import annotations

import re
from typing import Any, Mapping

from marshmallow import fields, validate

from ..models import MEDIA_MODES, TRANSPORTS
from .common import BaseSchema, CidrList, Fullmatch, digits, host, host_port, plain_text

NAME = re.compile(r"[\w.-]+", re.ASCII)


class GatewaySchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=[validate.Length(min=1, max=64), Fullmatch(NAME, error="must be letters, digits, '_', '.' or '-'")])
    proxy = fields.String(required=True, validate=[validate.Length(max=255), host_port])
    realm = fields.String(allow_none=True, validate=[validate.Length(max=255), host])
    username = fields.String(allow_none=True, validate=[validate.Length(max=64), plain_text])
    password = fields.String(allow_none=True, load_only=True, validate=[validate.Length(max=128), plain_text])
    register = fields.Boolean()
    expire_seconds = fields.Integer(validate=validate.Range(min=60, max=86400))
    retry_seconds = fields.Integer(validate=validate.Range(min=1, max=86400))
    caller_id_in_from = fields.Boolean()
    ping_seconds = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=3600))
    transport = fields.String(validate=validate.OneOf(TRANSPORTS))
    strip_digits = fields.Integer(validate=validate.Range(min=0, max=32))
    prepend = fields.String(validate=digits(0, 16))
    media_mode = fields.String(validate=validate.OneOf(MEDIA_MODES))
    source_cidrs = CidrList()
    enabled = fields.Boolean()
    has_password = fields.Function(lambda gw: bool(gw.password), dump_only=True, metadata={"type": "boolean"})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


def register_credentials_errors(state: Mapping[str, Any]) -> dict[str, list[str]]:
    """sofia skips a registering gateway without credentials: checked on the merged row state."""
    if not state.get("register"):
        return {}
    return {name: ["required when register is true"] for name in ("username", "password") if not state.get(name)}
