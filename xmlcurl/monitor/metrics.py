"""Prometheus gauges of the cluster, read from the monitor's snapshot at scrape time (a few cheap queries)."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from . import snapshot

log = logging.getLogger("xmlcurl.monitor")


def _epoch(value: dt.datetime) -> float:
    return value.replace(tzinfo=dt.timezone.utc).timestamp()


class ClusterCollector(Collector):
    """Per node, gateway and tenant: up, calls, registrations, gateway ping (nodes not known yet are left out)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from .. import db

        session = db.session()
        try:
            polled = snapshot.last_polled(session)
            if polled is None:
                session.rollback()
                return  # the monitor never ran: nothing to say (and no names shown)
            nodes = snapshot.nodes(session)
            gateways = snapshot.gateways(session)
            calls = snapshot.calls(session)
            regs = snapshot.registration_counts(session)
        except SQLAlchemyError as exc:
            session.rollback()
            log.warning("cluster gauges left out of this scrape: %s", exc.__class__.__name__)
            return
        session.rollback()
        g = GaugeMetricFamily
        polled_at = g("xmlcurl_cluster_polled_timestamp_seconds", "When the monitor last polled the nodes")
        polled_at.add_metric([], _epoch(polled))
        up = g("xmlcurl_cluster_node_up", "1 if the node answered the monitor, 0 after two missed polls", labels=["node", "role"])
        node_calls = g("xmlcurl_cluster_node_calls", "Calls up on the node (show calls count)", labels=["node", "role"])
        node_regs = g("xmlcurl_cluster_node_registrations", "Registrations on the node", labels=["node"])
        uptime = g("xmlcurl_cluster_node_uptime_seconds", "Seconds since FreeSWITCH started on the node", labels=["node"])
        for n in nodes:
            if n["state"] not in ("up", "down"):
                continue
            up.add_metric([n["name"], n["role"]], 1.0 if n["state"] == "up" else 0.0)
            if n["state"] == "up":
                if n["calls"] is not None:
                    node_calls.add_metric([n["name"], n["role"]], n["calls"])
                node_regs.add_metric([n["name"]], n["registrations"])
                if n["uptime_seconds"] is not None:
                    uptime.add_metric([n["name"]], n["uptime_seconds"])
        gw_up = g("xmlcurl_cluster_gateway_up", "1 if the gateway's pings succeed (status UP) on that node",
                  labels=["node", "gateway"])
        gw_ping = g("xmlcurl_cluster_gateway_ping_seconds", "The gateway's last ping round trip from that node",
                    labels=["node", "gateway"])
        for gw in gateways:
            if gw["node_up"] is not True:
                continue
            gw_up.add_metric([gw["node"], gw["name"]], 1.0 if gw["status"] == "UP" else 0.0)
            if gw["ping_ms"] is not None:
                gw_ping.add_metric([gw["node"], gw["name"]], gw["ping_ms"] / 1000)
        t_calls = g("xmlcurl_cluster_tenant_calls", "The tenant's calls up on its media nodes", labels=["tenant"])
        t_node = g("xmlcurl_cluster_tenant_node_calls", "The tenant's calls up on one node", labels=["tenant", "node"])
        t_cps = g("xmlcurl_cluster_tenant_cps", "The tenant's calls per second now on the routers", labels=["tenant"])
        t_max = g("xmlcurl_cluster_tenant_max_calls", "The tenant's concurrent call limit", labels=["tenant"])
        for c in calls:
            t_calls.add_metric([c["tenant"]], c["calls"])
            t_cps.add_metric([c["tenant"]], c["cps"])
            t_max.add_metric([c["tenant"]], c["max_calls"])
            for n in c["nodes"]:
                t_node.add_metric([c["tenant"], n["node"]], n["calls"])
        t_regs = g("xmlcurl_cluster_tenant_registrations", "The tenant's registrations on all nodes", labels=["tenant"])
        for c in calls:
            t_regs.add_metric([c["tenant"]], regs.get(c["tenant_id"], 0))
        yield from (polled_at, up, node_calls, node_regs, uptime, gw_up, gw_ping, t_calls, t_node, t_cps, t_max, t_regs)
