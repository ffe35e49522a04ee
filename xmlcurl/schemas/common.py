"""Validators, fields and the base schema every resource schema shares."""
from __future__ import annotations

import ipaddress
import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from .. import callerid
from ..fetch.xmldoc import UnsafeValue, plain_text_problem, safe
from ..limits import MAX_INT, MIN_INT

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


class Fullmatch(validate.Regexp):
    """A Regexp validator matching the whole value: `re.match` with `$` would accept a trailing newline."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def plain_text(value: str) -> None:
    """Text that reaches FreeSWITCH: no control characters and nothing it would expand ($ { })."""
    problem = plain_text_problem(value)
    if problem is not None:
        raise ValidationError(problem)


def servable(value: str) -> None:
    """Text the answer builders will serve: refused here what xmldoc.safe would refuse there
    (X-PRE-PROCESS, $${, characters XML cannot carry), so a stored row never vanishes from an answer."""
    try:
        safe(value)
    except UnsafeValue as exc:
        raise ValidationError(f"cannot be served to FreeSWITCH: {exc}") from None


def no_control(value: str) -> None:
    if _CONTROL.search(value):
        raise ValidationError("must not contain control characters")


def caller_name(value: str) -> None:
    """A caller ID name as xmlcurl.callerid defines it (what sofia may put in a From header)."""
    if not callerid.is_name(value):
        raise ValidationError(callerid.NAME_RULE)


def caller_number(value: str) -> None:
    """A caller ID number as xmlcurl.callerid defines it."""
    if not callerid.is_number(value):
        raise ValidationError(callerid.NUMBER_RULE)


def dns_name(value: str) -> None:
    """A DNS host name: dot-separated labels of letters, digits and inner hyphens, 253 characters at most."""
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in name.split(".")):
        raise ValidationError("must be a valid DNS name (e.g. sip.example.com)")
    if name.split(".")[-1].isdigit():
        raise ValidationError("must be a DNS name, not an address")


def host(value: str) -> None:
    """A DNS name, an IPv4 address or a bracketed IPv6 address."""
    if value.startswith("[") and value.endswith("]"):
        try:
            ipaddress.IPv6Address(value[1:-1])
            return
        except ValueError:
            raise ValidationError("must be a host name or address") from None
    try:
        ipaddress.IPv4Address(value)
        return
    except ValueError:
        pass
    try:
        dns_name(value)
    except ValidationError:
        raise ValidationError("must be a host name or address") from None


def host_port(value: str) -> None:
    """host[:port], the form of a gateway's proxy."""
    hostpart, port = value, None
    if value.startswith("["):
        end = value.find("]")
        hostpart, rest = value[: end + 1], value[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ValidationError("must be host[:port]")
            port = rest[1:]
    elif value.count(":") == 1:
        hostpart, port = value.split(":")
    host(hostpart)
    if port is not None and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ValidationError("the port must be a number from 1 to 65535")


def digits(low: int, high: int):
    """Digits only, low to high of them; the message names what is wrong (a letter, or the length)."""
    def check(value: str) -> None:
        if not all("0" <= ch <= "9" for ch in value):
            raise ValidationError("must be digits only (0-9)")
        if not low <= len(value) <= high:
            raise ValidationError(f"must be {low} to {high} digits" if low else f"must be at most {high} digits")
    return check


#: One wording for every message: lower case, no full stop, saying what the value must be
#: (marshmallow's own defaults read "required").
FIELD_MESSAGES = {
    "required": "required", "null": "must not be empty", "validator_failed": "is not valid",
}
TYPE_MESSAGES = {
    fields.Integer: "must be a whole number", fields.Boolean: "must be true or false", fields.String: "must be text",
    fields.DateTime: "must be an ISO date-time", fields.List: "must be a list", fields.Nested: "must be an object",
}
MESSAGE_STYLE = {"unknown": "unknown field", "type": "must be an object of fields"}


def _restyle(check: Any) -> None:
    """Marshmallow's built-in validators in the same wording (a validator's own `error` is kept)."""
    if isinstance(check, validate.OneOf):
        if check.error == validate.OneOf.default_message:
            check.error = "must be one of: {choices}"
        return
    if getattr(check, "error", None):
        return
    if isinstance(check, validate.Length):
        check.message_min = "must be at least {min} characters"
        check.message_max = "must be at most {max} characters"
        check.message_all = "must be {min} to {max} characters"
        check.message_equal = "must be {equal} characters"
    elif isinstance(check, validate.Range):
        check.message_min = "must be at least {min}"
        check.message_max = "must be at most {max}"
        check.message_all = "must be from {min} to {max}"


class IpAddress(fields.String):
    """An IPv4 or IPv6 address, stored in the compressed lower-case form sofia reports calls from."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return ipaddress.ip_address(text).compressed
        except ValueError:
            raise ValidationError("must be an IPv4 or IPv6 address") from None


class CidrList(fields.Field):
    """Addresses or CIDRs: accepts a list or a space/comma separated string, stored space separated."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"type": "array", "items": {"type": "string"},
                                       "description": "addresses or CIDRs (a space separated string is accepted too)"})
        super().__init__(**kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> list[str]:
        return value.split() if value else []

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, str):
            items = value.replace(",", " ").split(" ")
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            items = list(value)
        else:
            raise ValidationError("must be a list of addresses or CIDRs")
        if any(_CONTROL.search(item) for item in items):
            raise ValidationError("must be addresses or CIDRs separated by spaces or commas (no control characters)")
        items = [item for item in items if item]
        normalised = []
        for item in items:
            try:
                normalised.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                raise ValidationError(f"{item!r} is not an address or CIDR") from None
        text = " ".join(normalised)
        if len(text) > 1024:
            raise ValidationError("too many addresses (1024 characters at most)")
        return text


class BaseSchema(Schema):
    """Unknown fields are refused. For HTML forms: an empty secret means 'not given' (keep the stored
    one), an empty optional field means 'none'. Every integer field holds only what an INT column can."""

    error_messages = MESSAGE_STYLE

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        field_obj.error_messages.update(FIELD_MESSAGES)
        for kind, message in TYPE_MESSAGES.items():
            if isinstance(field_obj, kind):
                field_obj.error_messages["invalid"] = message
                break
        for check in field_obj.validators:
            _restyle(check)
        # Unbounded, a huge id reaches the database: SQLite raises OverflowError past 2**63-1, MySQL
        # refuses it for an INT column. Fields with their own Range keep it (all are narrower).
        if isinstance(field_obj, fields.Integer) and not any(
                isinstance(v, validate.Range) for v in field_obj.validators):
            field_obj.validators.append(validate.Range(min=MIN_INT, max=MAX_INT))

    @pre_load
    def _blank_fields(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, value in data.items():
            field = self.fields.get(name)
            if value != "" or field is None:
                continue
            if field.load_only:
                del out[name]
            elif field.allow_none:
                out[name] = None
        return out


    @validates_schema
    def _servable(self, data: dict[str, Any], **kwargs: Any) -> None:
        # Every text field, new ones included: what the API accepts, the answer builders must serve.
        errors: dict[str, list[str]] = {}
        for name, value in data.items():
            if isinstance(value, str):
                try:
                    servable(value)
                except ValidationError as exc:
                    errors[name] = list(exc.messages) if isinstance(exc.messages, list) else [str(exc.messages)]
        if errors:
            raise ValidationError(errors)
