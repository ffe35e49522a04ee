"""The bounds on caller input: ids in ASCII digits within an INT, body-size settings."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xmlcurl import config
from xmlcurl.limits import MAX_INT, parse_id
from xmlcurl.schemas import TenantSchema
from xmlcurl.schemas.common import BaseSchema


@given(st.text(max_size=30))
def test_parse_id_takes_only_ascii_digits_an_int_column_holds(text):
    value = parse_id(text)
    if value is not None:
        assert text.isascii() and text.isdigit() and int(text) == value and 0 <= value <= MAX_INT


@given(st.integers(min_value=0, max_value=2**70))
def test_parse_id_reads_every_id_and_refuses_the_rest(number):
    assert parse_id(str(number)) == (number if number <= MAX_INT else None)


def test_every_integer_field_of_every_schema_is_bounded():
    from marshmallow import fields, validate

    from xmlcurl import schemas

    checked = 0
    for name in dir(schemas):
        cls = getattr(schemas, name)
        if isinstance(cls, type) and issubclass(cls, BaseSchema):
            for field in cls().fields.values():
                if isinstance(field, fields.Integer) and not field.dump_only:
                    ranges = [v for v in field.validators if isinstance(v, validate.Range)]
                    assert ranges and all(-(2**31) <= r.min and r.max <= MAX_INT for r in ranges), (name, field.name)
                    checked += 1
    assert checked >= 15


def test_a_schema_integer_past_an_int_is_a_field_error():
    errors = TenantSchema().validate({"max_calls": 2**63}, partial=True)
    assert "max_calls" in errors


@pytest.mark.parametrize("name", ["MAX_REQUEST_BYTES", "MAX_UPLOAD_BYTES"])
def test_body_limits_below_4096_bytes_do_not_start(name):
    with pytest.raises(config.ConfigError, match=f"XMLCURL_{name}"):
        config.load(environ={"XMLCURL_ENV": "testing", f"XMLCURL_{name}": "100"})


def test_body_limits_are_read_from_the_environment():
    values = config.load(environ={"XMLCURL_ENV": "testing", "XMLCURL_MAX_REQUEST_BYTES": "65536",
                                  "XMLCURL_MAX_UPLOAD_BYTES": "1048576"})
    assert (values["MAX_REQUEST_BYTES"], values["MAX_UPLOAD_BYTES"]) == (65536, 1048576)
