"""/metrics carries the cluster gauges from the monitor's snapshot: per node, gateway and tenant."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(client) -> dict[tuple[str, tuple], float]:
    text = client.get("/metrics").get_data(as_text=True)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name.startswith("xmlcurl_cluster_")}


def test_gauges_per_node_gateway_and_tenant(client, demo_cluster):
    demo_cluster.poll()
    got = samples(client)
    assert got[("xmlcurl_cluster_node_up", (("node", "media-1"), ("role", "media")))] == 1.0
    assert got[("xmlcurl_cluster_node_calls", (("node", "router-1"), ("role", "router")))] == 1.0
    assert got[("xmlcurl_cluster_node_registrations", (("node", "media-2"),))] == 2.0
    assert got[("xmlcurl_cluster_gateway_up", (("gateway", "router-router-1"), ("node", "media-1")))] == 1.0
    assert got[("xmlcurl_cluster_gateway_ping_seconds", (("gateway", "router-router-1"), ("node", "media-1")))] == 0.00126
    assert got[("xmlcurl_cluster_tenant_calls", (("tenant", "acme"),))] == 1.0
    assert got[("xmlcurl_cluster_tenant_node_calls", (("node", "router-1"), ("tenant", "acme")))] == 1.0
    assert got[("xmlcurl_cluster_tenant_max_calls", (("tenant", "globex"),))] == 50.0
    assert got[("xmlcurl_cluster_tenant_registrations", (("tenant", "initech"),))] == 1.0
    assert ("xmlcurl_cluster_polled_timestamp_seconds", ()) in got
    # No addresses or secrets: names only.
    text = client.get("/metrics").get_data(as_text=True)
    assert "127.0.0." not in text and "ClueCon" not in text


def test_a_down_node_and_a_down_gateway_read_zero(client, demo_cluster):
    from tests.push.esl_double import EslDouble
    from tests.monitor.conftest import PASSWORD

    demo_cluster.poll()
    demo_cluster.serve_captured("media-1", "media-1-router-down")
    demo_cluster.serve("media-2", EslDouble("127.0.0.1", PASSWORD, greet=False))
    demo_cluster.poll()
    demo_cluster.poll()
    got = samples(client)
    assert got[("xmlcurl_cluster_node_up", (("node", "media-2"), ("role", "media")))] == 0.0
    assert got[("xmlcurl_cluster_gateway_up", (("gateway", "router-router-1"), ("node", "media-1")))] == 0.0
    assert ("xmlcurl_cluster_node_registrations", (("node", "media-2"),)) not in got


def test_no_cluster_gauge_names_anything_before_the_monitor_ran(client):
    assert samples(client) == {}


def test_the_cluster_gauges_can_be_turned_off(app, client, demo_cluster):
    demo_cluster.poll()
    app.config["XMLCURL"]["MONITOR_METRICS"] = False
    assert samples(client) == {}
