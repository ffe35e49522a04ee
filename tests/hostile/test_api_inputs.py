"""Every JSON API route, fed integers past what the database holds, JSON nested 50,000 deep and bodies
over the limits: a JSON 4xx that says why, never a 5xx (on SQLite and MariaDB).

The routes are read from the app's own url_map and the API's list of operations (filters, request
schemas), so a route added later is walked too.
"""
from __future__ import annotations

import io
import json
import re
from urllib.parse import quote

import pytest
from marshmallow import fields

from tests.api.conftest import make_token_holders
from tests.hostile.corpus import HUGE_INTEGER_TEXTS, HUGE_INTEGERS, LONG_CSV_CELL, deep_json
from xmlcurl.api.views import OPERATIONS

_INT_PART = re.compile(r"<int:(\w+)>")
#: Existing rows of the demo data, for routes whose body is read only once the row is found.
EXISTING = {"ident": "1", "tenant_id": "1", "node_id": "2"}


@pytest.fixture
def api(app):
    return make_token_holders(app)


def api_rules(app):
    """(rule text, method) of every API route but the catch-all for unknown paths."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api._unknown_endpoint":
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule.rule, method


def path_of(rule: str, **values: str) -> str:
    return _INT_PART.sub(lambda m: quote(values.get(m.group(1), EXISTING[m.group(1)]), safe=""), rule)


def assert_json_4xx(response, *statuses: int) -> dict:
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
    if statuses:
        assert response.status_code in statuses, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == response.status_code and body["message"]
    return body


def _send(api, method: str, path: str, **kwargs):
    return api.client.open(path, method=method, headers={"Authorization": f"Bearer {api.tokens['super']}"}, **kwargs)


def test_every_api_route_is_walked(app):
    rules = {rule for rule, _ in api_rules(app)}
    assert any("<int:" in rule for rule in rules) and len(rules) >= 20
    assert {op.path for op in OPERATIONS} == {rule.removeprefix("/api/v1") for rule in rules} - {"/openapi.json"}


def test_huge_or_foreign_integers_in_any_path_are_a_json_404(app, api):
    for rule, method in api_rules(app):
        if "<int:" not in rule:
            continue
        for text in HUGE_INTEGER_TEXTS:
            for name in _INT_PART.findall(rule):
                response = _send(api, method, path_of(rule, **{name: text}), json={})
                assert_json_4xx(response, 404)


#: Filters on INT columns; the others (q, number, entity_id, since, ...) are text and may match digits.
INT_FILTERS = {"tenant_id", "user_id", "gateway_id", "node_id", "admin_user_id", "page", "per_page"}


def test_huge_integers_in_any_filter_are_a_422_for_ids_and_never_a_5xx(app, api):
    for op in OPERATIONS:
        if op.method != "GET" or "<" in op.path:
            continue
        for name in (*op.filters, *(("page", "per_page") if op.listing else ())):
            for text in HUGE_INTEGER_TEXTS:
                response = _send(api, "GET", f"/api/v1{op.path}?{name}={quote(text)}")
                if name in INT_FILTERS or response.status_code != 200:
                    body = assert_json_4xx(response, 422)
                    assert name in body["errors"], (op.path, name, text)
                else:
                    assert response.mimetype == op.content_type


def test_int_filters_are_all_filters_of_some_route():
    assert INT_FILTERS <= {name for op in OPERATIONS for name in op.filters} | {"page", "per_page"}


def _integer_fields(schema) -> list[str]:
    return [name for name, field in schema.fields.items() if isinstance(field, fields.Integer) and not field.dump_only]


def body_operations():
    return [op for op in OPERATIONS if op.method in ("POST", "PATCH") and not op.upload]


def test_every_integer_field_of_every_body_refuses_huge_values_with_a_422(app, api):
    checked = 0
    for op in body_operations():
        for name in _integer_fields(op.request) if op.request is not None else ():
            for value in HUGE_INTEGERS + [float("inf"), 1e300, str(2**63)]:
                data = json.dumps({name: value}).encode()  # inf becomes Infinity, which Python's json reads
                response = _send(api, op.method, path_of(f"/api/v1{op.path}"), data=data,
                                 content_type="application/json")
                body = assert_json_4xx(response, 422)
                assert name in body["errors"], (op.path, name, value, body)
                checked += 1
    assert checked > 50


@pytest.mark.parametrize("nesting", range(3), ids=["array", "object", "field"])
def test_json_nested_50000_deep_is_a_422_on_every_body_route(app, api, nesting):
    payload = deep_json()[nesting]
    for op in body_operations():
        response = _send(api, op.method, path_of(f"/api/v1{op.path}"), data=payload, content_type="application/json")
        body = assert_json_4xx(response, 422)
        if nesting < 2:
            assert body["errors"]["_schema"] == ["the JSON is nested too deeply"], op.path


def test_a_body_over_max_request_bytes_is_a_413_that_names_the_setting(app, api):
    limit = app.config["XMLCURL"]["MAX_REQUEST_BYTES"]
    payload = json.dumps({"name": "x" * limit}).encode()
    for op in body_operations():
        response = _send(api, op.method, path_of(f"/api/v1{op.path}"), data=payload, content_type="application/json")
        body = assert_json_4xx(response, 413)
        assert f"at most {limit} bytes" in body["message"] and "XMLCURL_MAX_REQUEST_BYTES" in body["message"]


def test_a_body_without_a_length_is_still_cut_at_max_request_bytes(app, api):
    limit = app.config["XMLCURL"]["MAX_REQUEST_BYTES"]
    for size, status in ((limit - 100, 422), (limit, 413)):
        # As gunicorn hands a chunked body on: no Content-Length, the server ends the stream.
        stream = io.BytesIO(json.dumps({"name": "x" * size, "code": 1}).encode())
        response = _send(api, "POST", "/api/v1/tenants", input_stream=stream, content_type="application/json",
                         environ_overrides={"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
        body = assert_json_4xx(response, status)
        if status == 422:  # read whole: the schema saw both fields
            assert {"name", "code"} <= set(body["errors"]), body
        else:
            assert "XMLCURL_MAX_REQUEST_BYTES" in body["message"]


IMPORTS = {"/sip-users/import": "tenant,username,password\nacme,3999,{cell}\n",
           "/dids/import": "number,tenant,username\n{cell},acme,1000\n",
           "/routes/import": "tenant,prefix,gateway\nacme,{cell},carrier-a\n"}


def test_import_routes_are_all_covered():
    assert {op.path for op in OPERATIONS if op.upload} == set(IMPORTS)


@pytest.mark.parametrize("path", sorted(IMPORTS))
def test_a_csv_cell_longer_than_the_csv_module_reads_is_a_422_naming_the_line(api, path):
    data = IMPORTS[path].format(cell=LONG_CSV_CELL).encode()
    for upload in ({"data": data, "content_type": "text/csv"},
                   {"data": {"file": (io.BytesIO(data), "rows.csv")}, "content_type": "multipart/form-data"}):
        body = assert_json_4xx(_send(api, "POST", f"/api/v1{path}", **upload), 422)
        assert body["errors"]["file"] == ["line 2: field larger than field limit (131072)"]


@pytest.mark.parametrize("path", sorted(IMPORTS))
def test_a_csv_header_cell_longer_than_the_csv_module_reads_is_a_422(api, path):
    body = assert_json_4xx(_send(api, "POST", f"/api/v1{path}", data=LONG_CSV_CELL + "\n", content_type="text/csv"), 422)
    assert body["errors"]["file"] == ["line 1: field larger than field limit (131072)"]


def test_imports_take_up_to_max_upload_bytes_and_no_more(app, api):
    settings = app.config["XMLCURL"]
    rows = "tenant,username,password\n" + "".join(f"acme,{5000 + i},password-{5000 + i}\n" for i in range(200))
    padded = rows + " \n" * (settings["MAX_REQUEST_BYTES"] // 2)  # blank lines: over the JSON limit
    assert settings["MAX_REQUEST_BYTES"] < len(padded) < settings["MAX_UPLOAD_BYTES"]
    response = _send(api, "POST", "/api/v1/sip-users/import", data=padded, content_type="text/csv")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.get_json()["created"] == 200
    settings["MAX_UPLOAD_BYTES"] = len(padded) - 1
    body = assert_json_4xx(_send(api, "POST", "/api/v1/sip-users/import", data=padded, content_type="text/csv"), 413)
    assert f"at most {len(padded) - 1} bytes (XMLCURL_MAX_UPLOAD_BYTES)" in body["message"]


def test_export_tenant_filter_takes_only_ascii_ids(api):
    for text in HUGE_INTEGER_TEXTS:
        assert_json_4xx(_send(api, "GET", f"/api/v1/sip-users/export?tenant_id={quote(text)}"), 422)


def test_the_openapi_description_lists_the_413_of_every_route_that_takes_a_body(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for op in OPERATIONS:
        responses = paths[re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", op.path)][op.method.lower()]["responses"]
        assert ("413" in responses) == (op.request is not None or op.upload), (op.method, op.path)
