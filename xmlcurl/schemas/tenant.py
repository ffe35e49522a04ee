"""Tenant: code, SIP domain, context, limits, default caller ID, number format."""
from __future__ import annotations

from typing import Any

from marshmallow import fields, post_load, validate

from .common import BaseSchema, Fullmatch, caller_name, caller_number, digits, dns_name, plain_text

CODE = r"[a-z0-9][a-z0-9-]{1,31}"
CONTEXT = r"[A-Za-z0-9_.-]+"


class TenantSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=Fullmatch(CODE, error="must be 2-32 lowercase letters, digits or '-', starting with a letter or digit"))
    name = fields.String(required=True, validate=[validate.Length(min=1, max=128), plain_text])
    sip_domain = fields.String(required=True, validate=dns_name)
    context = fields.String(allow_none=True, validate=[validate.Length(max=64), Fullmatch(CONTEXT, error="must be letters, digits, '_', '.' or '-'")])
    max_calls = fields.Integer(validate=validate.Range(min=1, max=10_000_000))
    max_cps = fields.Integer(validate=validate.Range(min=1, max=1_000_000))
    default_cid_number = fields.String(allow_none=True, validate=caller_number)
    default_cid_name = fields.String(allow_none=True, validate=caller_name)
    country_code = fields.String(validate=digits(0, 4))
    national_prefix = fields.String(validate=digits(0, 4))
    international_prefix = fields.String(validate=digits(0, 8))
    enabled = fields.Boolean()
    # Changing the SIP domain voids every user's a1-hash; the caller must say it accepts that.
    confirm_new_domain = fields.Boolean(load_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @post_load
    def _normalise(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("sip_domain"):
            # FreeSWITCH matches domains case-insensitively; keep one spelling so the unique key holds.
            data["sip_domain"] = data["sip_domain"].lower().rstrip(".")
        return data


def default_context(code: str) -> str:
    return f"tenant-{code}"
