"""Caller text in log lines: every value a request carries is escaped, so one record is one line and
no value can forge another line (or another name=value field)."""
from __future__ import annotations

import base64
import logging
import sys

from hypothesis import given
from hypothesis import strategies as st

from tests.admin.conftest import login
from tests.conftest import captured_request, retarget
from tests.hostile.corpus import SIP_AUTH
from xmlcurl.logging_setup import OneLineFormatter, loggable

#: A value that ends the line and writes a fetch line of its own, with other control characters.
FORGED = "acl.conf\nfetch node=media-2 section=directory key=x status=200 result=ok ms=1.0 peer=10.0.0.1\r\x1b[2K\x00\t\x7f\u2028"
ESCAPED = "acl.conf\\nfetch"


def _lines(records) -> list[str]:
    """The records as the service's formatter writes them."""
    formatter = OneLineFormatter("%(levelname)s %(name)s %(message)s")
    return [line for record in records for line in formatter.format(record).splitlines()]


def _assert_one_clean_line(records, *expected: str) -> str:
    assert len(records) == 1, [r.getMessage() for r in records]
    message = records[0].getMessage()
    assert message.isascii() and message.isprintable(), message
    lines = _lines(records)
    assert len(lines) == 1, lines
    for text in expected:
        assert text in message, message
    return message


def _fetch_records(caplog, name: str = "xmlcurl.fetch"):
    return [r for r in caplog.records if r.name == name]


def test_a_key_value_with_a_newline_and_control_characters_is_one_escaped_fetch_line(fetch, caplog):
    body = retarget(captured_request("config-acl.conf"), hostname="media-1", key_value=FORGED)
    with caplog.at_level(logging.INFO, logger="xmlcurl.fetch"):
        assert fetch(body).status_code == 200
    message = _assert_one_clean_line(_fetch_records(caplog), "result=" + ESCAPED, "key=" + ESCAPED)
    for raw, escaped in (("\r", "\\r"), ("\x1b", "\\x1b"), ("\x00", "\\x00"), ("\t", "\\t"), ("\x7f", "\\x7f"),
                         ("\u2028", "\\u2028")):
        assert raw not in message and escaped in message
    assert message.count(" peer=") == 1 and message.count(" status=") == 1


def test_a_purpose_with_a_newline_is_one_escaped_fetch_line(fetch, caplog):
    body = retarget(SIP_AUTH, purpose="gateways\nfetch forged=1", action="")
    with caplog.at_level(logging.INFO, logger="xmlcurl.fetch"):
        fetch(body)
    _assert_one_clean_line(_fetch_records(caplog), "gateways\\nfetch")


def test_a_refused_body_quoting_a_field_name_is_one_line(fetch, caplog):
    body = SIP_AUTH + b"&user=%0Aforged&user=2"
    with caplog.at_level(logging.INFO, logger="xmlcurl.fetch"):
        assert fetch(body).status_code == 400
    _assert_one_clean_line(_fetch_records(caplog), "status=400")


def test_a_basic_username_with_a_newline_is_one_escaped_refusal_line(client, caplog):
    # Base64 carries any byte: the header is one line, the username it decodes to need not be.
    token = base64.b64encode(b"media-1\nfetch refused status=200:wrong").decode()
    with caplog.at_level(logging.INFO, logger="xmlcurl.fetch"):
        response = client.post("/freeswitch", data=SIP_AUTH, headers={"Authorization": f"Basic {token}"},
                               content_type="application/x-www-form-urlencoded")
    assert response.status_code == 401
    _assert_one_clean_line(_fetch_records(caplog), "username=media-1\\nfetch\\x20refused")


def test_an_admin_login_failure_is_logged_once_with_the_username_escaped(app, caplog):
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="xmlcurl.admin"):
        assert login(client, "admin\nadmin login ok username=admin", "wrong-password").status_code == 401
    _assert_one_clean_line([r for r in caplog.records if r.name == "xmlcurl.admin"],
                           "username=admin\\nadmin\\x20login", "peer=")


def test_flasks_unhandled_error_line_escapes_the_path(app, caplog):
    with app.test_request_context("/api/v1/x%0Aforged%0D"), caplog.at_level(logging.ERROR, logger="xmlcurl"):
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            app.log_exception(sys.exc_info())
    record = caplog.records[-1]
    assert record.getMessage() == "Exception on /api/v1/x\\nforged\\r [GET]"
    assert "Traceback" in OneLineFormatter("%(message)s").format(record)


def test_the_formatter_keeps_a_stray_line_break_inside_its_record():
    record = logging.LogRecord("xmlcurl.x", logging.WARNING, __file__, 1, "value %s", ("a\nb\r\nc",), None)
    assert _lines([record]) == ["WARNING xmlcurl.x value a\\nb\\r\\nc"]


@given(st.text(max_size=200), st.integers(min_value=1, max_value=300), st.booleans())
def test_loggable_output_is_printable_ascii_bounded_and_one_field_unless_asked(text, limit, spaces):
    out = loggable(text, limit, spaces=spaces)
    assert out.isascii() and out.isprintable()
    assert spaces or " " not in out
    assert len(out) <= 10 * limit + 3
    if len(text) <= limit and not spaces:
        assert out.encode("ascii").decode("unicode_escape") == text
