"""Audit entry (read only): who changed what, with before/after data (secrets masked)."""
from __future__ import annotations

import json

from marshmallow import fields

from .common import BaseSchema


def _json(text: str | None):
    return json.loads(text) if text else None


class AuditEntrySchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    at = fields.DateTime(dump_only=True)
    actor = fields.String(dump_only=True)
    source = fields.String(dump_only=True)
    action = fields.String(dump_only=True)
    entity = fields.String(dump_only=True)
    entity_id = fields.String(dump_only=True)
    tenant_id = fields.Integer(dump_only=True)
    before = fields.Function(lambda entry: _json(entry.before_json), dump_only=True, metadata={"type": "object", "nullable": True})
    after = fields.Function(lambda entry: _json(entry.after_json), dump_only=True, metadata={"type": "object", "nullable": True})
