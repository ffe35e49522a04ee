"""Every validated text field of every API resource refuses a trailing newline (`re.match` + `$` accepted one).

The fields come from the resources' own schemas: a new text field fails here until it has a sample
value in VALID, and then it is checked too.
"""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from marshmallow import fields

from tests.api.conftest import assert_error
from xmlcurl.api.views import RESOURCES

#: An existing row to change, per API path.
ROWS = {"/tenants": 1, "/nodes": 2, "/sip-users": 2, "/gateways": 1, "/routes": 1, "/dids": 1, "/admin-users": 1,
        "/caller-ids": 1}
#: A value each text field accepts (checked below, so a wrong sample cannot hide a bug).
VALID = {
    ("/tenants", "code"): "acme", ("/tenants", "name"): "Acme Motors", ("/tenants", "sip_domain"): "acme.example.com",
    ("/tenants", "context"): "tenant-acme", ("/tenants", "default_cid_number"): "8657100000000",
    ("/tenants", "default_cid_name"): "Acme", ("/tenants", "country_code"): "86", ("/tenants", "national_prefix"): "0",
    ("/tenants", "international_prefix"): "00",
    ("/nodes", "name"): "media-1", ("/nodes", "role"): "media", ("/nodes", "sip_address"): "127.0.0.11", ("/nodes", "http_username"): "media-1",
    ("/nodes", "http_secret"): "a-long-enough-node-secret", ("/nodes", "allowed_sources"): "127.0.0.0/8",
    ("/nodes", "session_db_dsn"): "mariadb://Server=db.internal;Port=3306;Database=fs_cluster;Uid=fs;Pwd=fs-secret",
    ("/sip-users", "username"): "1001", ("/sip-users", "password"): "a-new-password",
    ("/sip-users", "cid_name"): "Front Desk", ("/sip-users", "cid_number"): "8657100000000",
    ("/sip-users", "outbound_cid_name"): "Front Desk", ("/sip-users", "outbound_cid_number"): "8610000001",
    ("/sip-users", "kind"): "agent", ("/sip-users", "variables.name"): "x_team",
    ("/sip-users", "variables.value"): "blue",
    ("/gateways", "name"): "carrier-a", ("/gateways", "proxy"): "127.0.0.20:5060", ("/gateways", "realm"): "example.com",
    ("/gateways", "username"): "trunk", ("/gateways", "password"): "trunk-pass", ("/gateways", "transport"): "udp",
    ("/gateways", "prepend"): "0", ("/gateways", "media_mode"): "bypass", ("/gateways", "source_cidrs"): "127.0.0.20",
    ("/routes", "prefix"): "49",
    ("/dids", "number"): "8610000001",
    ("/admin-users", "username"): "admin", ("/admin-users", "password"): "demo-admin-password",
    ("/admin-users", "role"): "superadmin",
    ("/caller-ids", "number"): "8657100000000", ("/caller-ids", "note"): "main number",
}


def text_fields():
    """(path, field) for every loadable text field of every resource schema (nested lists as 'list.field')."""
    for res in RESOURCES:
        for name, field in res.schema.fields.items():
            if field.dump_only:
                continue
            if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
                for inner_name, inner in field.inner.schema.fields.items():
                    if isinstance(inner, fields.String):
                        yield res.path, f"{name}.{inner_name}"
            elif isinstance(field, fields.String) or type(field).__name__ == "CidrList":
                yield res.path, name


FIELDS = sorted(set(text_fields()))


@pytest.fixture(autouse=True)
def _esl_key(app):
    """Secrets stored encrypted (a node's session database DSN) need the key."""
    app.config["XMLCURL"]["ESL_KEY"] = Fernet.generate_key().decode()


def test_every_text_field_has_a_sample():
    assert [key for key in FIELDS if key not in VALID] == []


def _payload(field: str, value: str) -> dict:
    if "." in field:
        outer, inner = field.split(".")
        other = "value" if inner == "name" else "name"
        return {outer: [{inner: value, other: VALID[("/sip-users", f"{outer}.{other}")]}]}
    return {field: value}


@pytest.mark.parametrize("path,field", FIELDS, ids=[f"{p}.{f}" for p, f in FIELDS])
def test_a_trailing_newline_answers_422(api, path, field):
    url = f"{path}/{ROWS[path]}"
    good = api.patch(url, json=_payload(field, VALID[(path, field)]))
    top = field.split(".")[0]
    assert top not in (good.get_json() or {}).get("errors", {}), good.get_json()
    assert_error(api.patch(url, json=_payload(field, VALID[(path, field)] + "\n")), 422, "invalid", top)
