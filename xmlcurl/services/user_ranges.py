"""A range of SIP users in one go (robots come by the thousand): 2000-2999, each with its own generated
password unless one is given; all or none, one audit entry."""
from __future__ import annotations

import csv
import io
import secrets as stdlib_secrets
from typing import Any, Mapping

from marshmallow import ValidationError, fields, validate, validates_schema
from sqlalchemy.orm import Session

from ..models import KINDS, Tenant
from ..schemas.common import BaseSchema, digits, no_control
from . import audit, csv_io
from .actor import Actor
from .common import load
from .errors import Invalid
from .scope import tenant_for_write

MAX_USERS = 10_000


def new_password() -> str:
    """A random SIP password (16 URL-safe characters, ~96 bits): shown once, stored only as the a1-hash."""
    return stdlib_secrets.token_urlsafe(12)


class RangeSchema(BaseSchema):
    tenant_id = fields.Integer(allow_none=True)
    first = fields.String(required=True, validate=digits(1, 32))
    last = fields.String(required=True, validate=digits(1, 32))
    kind = fields.String(validate=validate.OneOf(KINDS))
    password = fields.String(load_only=True, validate=[validate.Length(min=8, max=128), no_control])
    enabled = fields.Boolean()

    @validates_schema
    def _span(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "first" not in data or "last" not in data:
            return
        if len(data["first"]) != len(data["last"]):
            raise ValidationError("must have as many digits as the first", "last")
        if int(data["last"]) < int(data["first"]):
            raise ValidationError("must not be below the first", "last")
        if int(data["last"]) - int(data["first"]) + 1 > MAX_USERS:
            raise ValidationError(f"at most {MAX_USERS} users at once", "last")


SCHEMA = RangeSchema()


def create_range(session: Session, actor: Actor, payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Create users first..last (usernames keep the first's width); returns (username, password) pairs,
    the only time the passwords are seen. Refused whole if any username is taken or not valid."""
    data = load(SCHEMA, payload)
    tenant: Tenant = tenant_for_write(session, actor, data.get("tenant_id"))
    width = len(data["first"])
    users = [(str(number).zfill(width), data.get("password") or new_password())
             for number in range(int(data["first"]), int(data["last"]) + 1)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("tenant", "username", "password", "kind", "enabled"))
    enabled = "true" if data.get("enabled", True) else "false"
    writer.writerows((tenant.code, username, password, data.get("kind", "robot"), enabled) for username, password in users)
    with audit.batch(session, actor, "bulk create", "sip_user"):
        report = csv_io.import_sip_users(session, actor, out.getvalue())
        if report.rejected:
            lines = {item["line"] - 2: item["errors"] for item in report.rejected}
            shown = [f"{users[index][0]}: {'; '.join(_flat(errors))}" for index, errors in list(lines.items())[:10]]
            more = f" and {len(lines) - 10} more" if len(lines) > 10 else ""
            message = f"{len(lines)} of {len(users)} users cannot be created ({', '.join(shown)}{more}); none was created"
            raise Invalid(message, {"first": [message]})
    return users


def _flat(errors: Mapping[str, Any]) -> list[str]:
    return [f"{name} {message}" if name != "username" else str(message)
            for name, messages in errors.items() for message in (messages if isinstance(messages, list) else [messages])]
