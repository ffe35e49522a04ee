"""The OpenAPI description: valid OpenAPI 3, and every API route described."""
from __future__ import annotations

from openapi_spec_validator import validate

from xmlcurl.api.openapi import openapi_path

UNDOCUMENTED = {"api._unknown_endpoint"}


def test_the_document_is_valid_openapi_3(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    validate(document)


def test_every_route_of_the_blueprint_is_described(app, client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    described = {(path, method) for path, operations in paths.items() for method in operations}
    routes = {
        (openapi_path(rule.rule.removeprefix("/api/v1")), method.lower())
        for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.") and rule.endpoint not in UNDOCUMENTED
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert len(routes) > 40
    assert routes - described == set()
    assert described - routes == set()


def test_secrets_are_write_only_and_ids_read_only(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert schemas["SipUser"]["properties"]["password"]["writeOnly"] is True
    assert schemas["Node"]["properties"]["http_secret"]["writeOnly"] is True
    assert schemas["Tenant"]["properties"]["id"]["readOnly"] is True
    assert "required" not in schemas.get("TenantPatch", {})
