"""The running cluster in the admin: the down banner on every page, the dashboard and tenant sections, live fragments.

Templates reach the snapshot through the globals registered here (`cluster_overview`,
`cluster_tenant`, ...), so the pages that show it need no view changes; the same partial
templates are served alone under /admin/cluster/live/ for static/cluster.js to refresh in place.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, current_app, g, render_template
from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError

from xmlcurl import db
from xmlcurl.limits import parse_id
from xmlcurl.models import Tenant
from xmlcurl.monitor import snapshot
from xmlcurl.monitor.store import utcnow

from ..auth import current_actor

#: Seconds between two refreshes of the live parts (the monitor's own interval is the floor that matters).
REFRESH_SECONDS = 5
#: Registrations listed on a page (the total is shown; the API lists them all).
SHOWN_REGISTRATIONS = 200


def register(bp: Blueprint) -> None:
    """Add the live-fragment routes, the banner's context and the template helpers to the admin blueprint."""
    bp.add_url_rule("/cluster/live/<any(banner,overview):part>", "cluster_live", live)
    bp.add_url_rule("/cluster/live/tenant/<int:tenant_id>", "cluster_live_tenant", live_tenant)
    bp.context_processor(_banner_context)
    bp.add_app_template_filter(ago, "ago")
    bp.add_app_template_filter(duration, "duration")
    for func in (cluster_overview, cluster_tenant, cluster_route_warnings, cluster_preview_warning):
        bp.add_app_template_global(func)


def ago(when: dt.datetime | None) -> str:
    """'3 min ago' from a stored naive-UTC time."""
    if when is None:
        return "never"
    seconds = max(0, int((utcnow() - when).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "–"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{hours:02d}:{minutes:02d}:{secs:02d}"


def _scope() -> int | None:
    actor = current_actor()
    return None if actor.is_superadmin else actor.tenant_id


def _alerts() -> dict[str, Any]:
    session = db.session()
    tenant_id = _scope()
    alerts = snapshot.alerts(session, tenant_id)
    if tenant_id is None:
        # A snapshot nobody renews is not the cluster any more: say so rather than show it as current.
        polled = snapshot.last_polled(session)
        stale_after = dt.timedelta(seconds=3 * current_app.config["XMLCURL"]["MONITOR_INTERVAL"])
        if polled is not None and utcnow() - polled > stale_after:
            alerts.insert(0, {"kind": "monitor", "since": polled})
    session.rollback()
    return {"cluster_alerts": alerts, "refresh_seconds": REFRESH_SECONDS}


def _banner_context() -> dict[str, Any]:
    """Every signed-in page shows what is down (a tenant admin: its media nodes and the routers)."""
    if g.get("admin_actor") is None:
        return {}
    try:
        return _alerts()
    except SQLAlchemyError:
        # The page itself may be the answer to a database failure: it is shown without the banner.
        db.session().rollback()
        return {}


def cluster_overview() -> dict[str, Any]:
    """The dashboard's live part: every node and gateway and the calls per tenant (a tenant admin: its own)."""
    session = db.session()
    tenant_id = _scope()
    data = {"polled_at": snapshot.last_polled(session), "calls": snapshot.calls(session, tenant_id),
            "interval": current_app.config["XMLCURL"]["MONITOR_INTERVAL"]}
    if tenant_id is None:
        data["nodes"] = snapshot.nodes(session)
        data["gateways"] = snapshot.gateways(session)
        data["registrations_per_tenant"] = snapshot.registration_counts(session)
    else:
        data["registrations"] = snapshot.registrations(session, tenant_id, SHOWN_REGISTRATIONS)
        data["registrations_total"] = snapshot.registration_counts(session).get(tenant_id, 0)
    session.rollback()
    return data


def cluster_tenant(tenant_id: int) -> dict[str, Any]:
    """A tenant's live part: where its users are registered, its calls per node against its limits, its media nodes."""
    actor = current_actor()
    if not actor.can_see_tenant(tenant_id):
        abort(404)
    session = db.session()
    calls = snapshot.calls(session, tenant_id)
    pinned = set(snapshot.pinned_media(session, tenant_id))
    data = {"tenant_id": tenant_id, "polled_at": snapshot.last_polled(session),
            "registrations": snapshot.registrations(session, tenant_id, SHOWN_REGISTRATIONS),
            "registrations_total": snapshot.registration_counts(session).get(tenant_id, 0),
            "calls": calls[0] if calls else None,
            "media": snapshot.nodes(session, pinned) if pinned else []}
    session.rollback()
    return data


def cluster_route_warnings(decision: dict[str, Any] | None) -> list[str]:
    """Route test: a leg whose gateway is down on every router; the tenant's media nodes all down."""
    if not decision:
        return []
    session = db.session()
    warnings = []
    for gateway in dict.fromkeys(leg["gateway"] for leg in decision.get("legs", [])):
        routers = snapshot.gateway_down_everywhere(session, gateway)
        if routers:
            warnings.append(f"Gateway {gateway} is down on every router ({', '.join(routers)}): "
                            "calls on this leg fail over to the next one.")
    tenant_id = session.scalar(select(Tenant.id).where(Tenant.code == decision.get("tenant")))
    if tenant_id is not None:
        down = snapshot.media_all_down(session, tenant_id)
        if down:
            warnings.append(f"Every media node of tenant {decision['tenant']} is down ({', '.join(down)}): "
                            "its users cannot register or call now.")
    session.rollback()
    return warnings


def cluster_preview_warning(values: dict[str, str]) -> str | None:
    """Preview: the tenant the form names (domain, X-Tenant or context) has every media node down."""
    wanted = [v.strip() for v in (values.get("domain", ""), values.get("x_tenant", ""), values.get("context", "")) if v.strip()]
    if not wanted:
        return None
    session = db.session()
    row = session.execute(select(Tenant.id, Tenant.code).where(or_(
        Tenant.sip_domain.in_(wanted), Tenant.code.in_(wanted), Tenant.context.in_(wanted))).limit(1)).first()
    down = snapshot.media_all_down(session, row.id) if row else None
    session.rollback()
    if not down:
        return None
    return f"Every media node of tenant {row.code} is down ({', '.join(down)}): this answer is not being used now."


def live(part: str):
    """A live part alone (the banner or the dashboard's), for static/cluster.js to swap in."""
    template = "admin/_cluster_banner.html" if part == "banner" else "admin/_cluster_overview.html"
    return render_template(template, **(_alerts() if part == "banner" else {"cluster": cluster_overview()}))


def live_tenant(tenant_id: int):
    """A tenant's live part alone (a tenant admin's own tenant too: cluster_tenant checks the reach)."""
    if parse_id(str(tenant_id)) is None or db.session().get(Tenant, tenant_id) is None:
        abort(404)
    return render_template("admin/_cluster_tenant.html", live=cluster_tenant(tenant_id))
