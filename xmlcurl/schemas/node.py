"""Node: a FreeSWITCH instance (media or router) and the HTTP credentials of its xml_curl bindings."""
from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validate

from ..models import ROLES
from .common import BaseSchema, CidrList, Fullmatch, IpAddress, no_control

NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
PORT = validate.Range(min=1, max=65535)
# What FreeSWITCH's database layer takes (switch_core_sqldb.c): `<interface>://<connection string>`
# (mariadb://, pgsql://, odbc://, ...) or an ODBC `dsn:user:password`.
_DSN = re.compile(r"(?:[A-Za-z][A-Za-z0-9_]{0,14}://\S.*|[^:/\s][^:]+:[^:]*:.*)")


def session_dsn(value: str) -> None:
    """A DSN sofia can open, that survives FreeSWITCH's pre-processor (no `$${`, no X-PRE-PROCESS)."""
    no_control(value)
    if not _DSN.fullmatch(value):
        raise ValidationError("must be <database>://<connection string> (e.g. mariadb://Server=db;Database=fs;"
                              "Uid=fs;Pwd=...) or an ODBC dsn:user:password")
    if "$${" in value or "x-pre-process" in value.lower():
        raise ValidationError("must not contain '$${' or 'X-PRE-PROCESS' (FreeSWITCH's pre-processor would rewrite it)")


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
    # Shared sofia database of the node's profiles; holds a password, so write-only (null removes it).
    session_db_dsn = fields.String(allow_none=True, load_only=True,
                                   validate=[validate.Length(min=1, max=1024), session_dsn])
    has_session_db_dsn = fields.Function(lambda node: bool(node.session_db_dsn_enc), dump_only=True,
                                         metadata={"type": "boolean"})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
