"""Live changes on running FreeSWITCH nodes through their event sockets.

After a commit that changed gateways, SIP users (or their variables), nodes or pinning, call
`changes_committed([...])` (or let the session hook in `hooks` do it): the commands are planned
from the current data and queued for a background thread, so the request never waits for a node.
"""
from __future__ import annotations

from typing import Any, Iterable

from flask import current_app

from .cluster import load_cluster
from .plan import (Change, EslChange, GatewayChange, NodeChange, NodePlan, PinningChange, UserChange, full_resync,
                   plan)
from .runner import NodeResult, run_plans
from .worker import PUSHER

__all__ = ["Change", "EslChange", "GatewayChange", "NodeChange", "NodePlan", "NodeResult", "PinningChange", "UserChange",
           "changes_committed", "plan_changes", "plan_resync", "recent_results", "request_resync", "run_plans"]


def _settings() -> dict[str, Any]:
    return current_app.config["XMLCURL"]


def plan_changes(changes: Iterable[Change]) -> list[NodePlan]:
    """The commands CHANGES call for, from the database as committed now."""
    from .. import db

    changes = list(changes)
    tenant_ids = {c.tenant_id for c in changes if isinstance(c, (UserChange, PinningChange))}
    with db.database().sessionmaker() as session:
        cluster = load_cluster(session, tenant_ids)
    return plan(changes, cluster, _settings())


def changes_committed(changes: Iterable[Change], *, force: bool = False) -> list[NodePlan]:
    """Call after the commit: plans the commands and queues them when XMLCURL_PUSH_AUTO is on (or FORCE)."""
    plans = plan_changes(changes)
    if force or _settings()["PUSH_AUTO"]:
        PUSHER.submit(plans, _settings())
    return plans


def plan_resync(node_name: str | None = None) -> list[NodePlan]:
    """The manual push's plan: every enabled node, or NODE_NAME (see plan.full_resync)."""
    from .. import db

    with db.database().sessionmaker() as session:
        cluster = load_cluster(session, set())
    return full_resync(cluster, _settings(), node_name)


def request_resync(node_name: str | None = None) -> list[NodePlan]:
    """The admin/API button: queue a full resync in the background and return its plan at once."""
    plans = plan_resync(node_name)
    PUSHER.submit(plans, _settings())
    return plans


def recent_results() -> list[dict[str, Any]]:
    """This process's latest per-node results, newest first, as plain dicts for pages and JSON."""
    return [result.as_dict() for result in PUSHER.recent()]
