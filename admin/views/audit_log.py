"""The audit log page: every change, newest first, filtered by entity, actor, tenant, action and date."""
from __future__ import annotations

import json

from flask import render_template

from xmlcurl import db

from xmlcurl.models.admin import AUDIT_SOURCES
from xmlcurl.services import ListParams, ServiceError, audit

from ..auth import current_actor
from ..resources import tenant_choices
from ..web import field_errors, list_params, run, tenant_codes

ENTITIES = ("tenant", "node", "pinning", "sip_user", "gateway", "route", "did", "approved_caller_id", "admin_user",
            "api_token")
ACTIONS = ("create", "update", "delete", "revoke", "import", "bulk create", "bulk enable", "bulk disable", "bulk delete")
FILTERS = ("entity", "entity_id", "action", "actor", "source", "tenant_id", "since", "until")


def _pretty(data: dict | None) -> str:
    return "" if data is None else json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False)


def _changes(before: dict | None, after: dict | None) -> list[tuple[str, object, object]]:
    """The keys whose values differ (all of them for a create or a delete)."""
    keys = sorted(set(before or {}) | set(after or {}))
    return [(k, (before or {}).get(k), (after or {}).get(k)) for k in keys
            if (before or {}).get(k) != (after or {}).get(k) and k not in ("updated_at",)]


def _plural(entity: str) -> str:
    return {"sip_user": "SIP users", "did": "DIDs", "route": "routes", "gateway": "gateways",
            "approved_caller_id": "approved caller IDs", "tenant": "tenants"}.get(entity, entity.replace("_", " ") + "s")


def audit_list():
    """Audit entries; a tenant admin sees its own tenant's."""
    actor = current_actor()
    errors: dict[str, str] = {}
    allowed = FILTERS if actor.is_superadmin else tuple(f for f in FILTERS if f != "tenant_id")
    try:
        params, applied = list_params(allowed)
        page = run(False, audit.search, params)
    except ServiceError as exc:
        errors, applied = field_errors(exc.errors), {}
        page = run(False, audit.search, ListParams())
    entries = []
    names = audit.Names(db.session(), infrastructure=actor.is_superadmin)
    for entry in page.items:
        before, after = audit.decoded(entry)
        listed = (after or {}).get("rows") if isinstance((after or {}).get("rows"), list) else None
        if listed is not None:
            # One entry for many rows (an import, a bulk action): the rows by name, not a diff.
            entries.append({"entry": entry, "name": f"{len(listed)} {_plural(entry.entity)}", "changes": [],
                            "rows": [f"{row.get('action', '')} {row.get('name', '')}" for row in listed],
                            "before": "", "after": ""})
            continue
        entries.append({"entry": entry, "name": names.of(entry.entity, after or before or {}, entry.entity_id),
                        "changes": _changes(before, after), "rows": None,
                        "before": _pretty(before), "after": _pretty(after)})
    return render_template("admin/audit.html", page=page, entries=entries, applied=applied, errors=errors,
                           entities=ENTITIES, actions=ACTIONS, sources=AUDIT_SOURCES, tenants=tenant_codes(),
                           tenant_options=tenant_choices(actor)[1:] if actor.is_superadmin else [])
