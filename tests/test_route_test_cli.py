"""`xmlcurl route-test`: the router's own decision for a tenant's number, printed with its reasons."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import insert

from xmlcurl.models import Route


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["route-test", *args], catch_exceptions=False)


def test_acme_86_lists_carrier_b_then_carrier_a_with_reasons(app):
    result = run(app, "--tenant", "acme", "8613800138000")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "matched prefix '86' (routes of all tenants; longest matching prefix wins)" in lines
    assert "  1. carrier-b        prefix '86' scope global priority 10 weight 100 sends 8613800138000" in lines
    assert ("  2. carrier-a        prefix '86' scope global priority 20 weight 100 sends 08613800138000 "
            "(prepend '0')") in lines
    assert "bridge: sofia/gateway/carrier-b/8613800138000|sofia/gateway/carrier-a/08613800138000" in lines
    assert "  - carrier-a prefix '' scope global priority 10: shorter prefix than '86'" in lines


def test_globex_1_uses_its_own_route(app):
    result = run(app, "--tenant", "globex", "15551234567")
    assert "matched prefix '1' (the tenant's own routes; longest matching prefix wins)" in result.output
    assert "bridge: sofia/gateway/carrier-b/15551234567\n" in result.output


def test_initech_falls_back_to_the_default_routes(app):
    result = run(app, "--tenant", "initech", "4420123")
    assert "bridge: sofia/gateway/carrier-a/04420123|sofia/gateway/carrier-b/4420123" in result.output


def test_the_dialled_number_is_normalised_as_the_media_node_does(app):
    result = run(app, "--tenant", "acme", "013800138000")
    assert "note: dialled 013800138000 is sent to the routers as 8613800138000 (tenant numbering plan)" in result.output
    assert "sofia/gateway/carrier-b/8613800138000|" in result.output


def test_equal_priority_weighted_legs_are_said_to_be_shuffled(app, session):
    session.execute(insert(Route).values(tenant_id=3, prefix="44", gateway_id=1, priority=10, weight=70))
    session.execute(insert(Route).values(tenant_id=3, prefix="44", gateway_id=2, priority=10, weight=30))
    session.commit()
    result = run(app, "--tenant", "initech", "4420123")
    assert "priority 10: legs shuffled by weight on every call (order above is one draw)" in result.output
    assert "scope tenant priority 10 weight 70" in result.output


@pytest.mark.parametrize("node, code", [("media-1", 0), ("media-2", 1), ("router-1", 1), ("nope", 1)])
def test_media_node_option_checks_the_pinning(app, node, code):
    result = run(app, "--tenant", "acme", "--media-node", node, "8613800138000")
    assert result.exit_code == code
    if code == 0:
        assert "calling media node media-1 (127.0.0.11): tenant pinned, node enabled" in result.output
    else:
        assert "REJECTED: 403 Tenant Not Served" in result.output


@pytest.mark.parametrize("tenant, number, reason", [
    ("nobody", "8613800138000", "403 Unknown Tenant"),
    ("acme", "86138,999", "404 Invalid Number"),
    ("acme", "${api(system id)}", "404 Invalid Number"),
])
def test_refusals_exit_non_zero_with_the_reason(app, tenant, number, reason):
    result = run(app, "--tenant", tenant, number)
    assert result.exit_code == 1 and f"REJECTED: {reason}" in result.output


def test_json_output_is_the_structured_decision(app):
    result = run(app, "--tenant", "acme", "--json", "8613800138000")
    data = json.loads(result.output)
    assert data["prefix"] == "86" and data["scope"] == "global" and data["bypass_media"] is True
    assert [(leg["gateway"], leg["priority"], leg["number_sent"]) for leg in data["legs"]] == [
        ("carrier-b", 10, "8613800138000"), ("carrier-a", 20, "08613800138000")]
    assert data["rejection"] is None
