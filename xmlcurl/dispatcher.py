"""Dispatcher sets for the SIP proxy: views over the pinning in Kamailio's and OpenSIPS's layouts,
and `dispatcher_domains` (tenant SIP domain -> set id) for the proxy's tenant lookup.

schema.sql holds the MySQL views (the proxy reads MySQL); the same views are created here in SQLite's
dialect so development databases and the tests show identical rows.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

#: Layout name -> (view name, table version the proxy's dispatcher module requires).
LAYOUTS: dict[str, tuple[str, int]] = {
    "kamailio": ("dispatcher_kamailio", 4),
    "opensips": ("dispatcher_opensips", 9),
}

_DESTINATION = (
    "'sip:' || CASE WHEN instr(n.sip_address, ':') > 0 THEN '[' || n.sip_address || ']' "
    "ELSE n.sip_address END || ':' || n.sip_port"
)
_FROM = (
    "FROM tenant_nodes tn JOIN nodes n ON n.id = tn.node_id JOIN tenants t ON t.id = tn.tenant_id "
    "WHERE n.enabled = 1 AND n.role = 'media' AND t.enabled = 1"
)
_SQLITE_SELECTS = {
    "dispatcher_kamailio": (
        f"SELECT tn.tenant_id * 100000 + tn.node_id AS id, tn.tenant_id AS setid, {_DESTINATION} AS destination, "
        "0 AS flags, tn.weight AS priority, 'weight=' || min(max(tn.weight, 1), 100) AS attrs, "
        f"n.name AS description {_FROM}"
    ),
    "dispatcher_opensips": (
        f"SELECT tn.tenant_id * 100000 + tn.node_id AS id, tn.tenant_id AS setid, {_DESTINATION} AS destination, "
        "NULL AS socket, 0 AS state, 0 AS probe_mode, CAST(tn.weight AS TEXT) AS weight, tn.weight AS priority, "
        f"'' AS attrs, n.name AS description {_FROM}"
    ),
    "dispatcher_domains": "SELECT t.sip_domain AS domain, t.id AS setid FROM tenants t WHERE t.enabled = 1",
}


def sqlite_statements() -> list[str]:
    """The dispatcher views and version rows of schema.sql, in SQLite's dialect."""
    statements = []
    for view, select in _SQLITE_SELECTS.items():
        statements.append(f"DROP VIEW IF EXISTS {view}")
        statements.append(f"CREATE VIEW {view} AS {select}")
    for view, version in LAYOUTS.values():
        statements.append(
            f"INSERT OR REPLACE INTO version (table_name, table_version) VALUES ('{view}', {version})"
        )
    return statements


def drop_statements() -> list[str]:
    """Drop the views (before their tables, so a re-created schema starts clean)."""
    return [f"DROP VIEW IF EXISTS {view}" for view in _SQLITE_SELECTS]


def rows(session: Session, layout: str) -> list[dict[str, Any]]:
    """Every row the proxy reads in LAYOUT, by set then priority (highest first)."""
    view, _version = LAYOUTS[layout]
    result = session.execute(text(f"SELECT * FROM {view} ORDER BY setid, priority DESC, destination"))
    return [dict(row._mapping) for row in result]
