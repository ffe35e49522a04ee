"""The audit log: one row per create/update/delete, in the change's own transaction, secrets masked."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEntry
from .actor import Actor
from .common import ListParams, Page, exact_filter, int_filter, paginate
from .errors import Invalid

# Keys whose values never reach the log; their presence (set or not) is still recorded.
SECRET_KEYS = frozenset({
    "password", "password_hash", "a1_hash", "http_secret", "http_secret_hash", "token", "token_hash",
    "esl_password_enc", "session_db_dsn", "session_db_dsn_enc",
})
MASK = "***"


def mask(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy with every secret replaced by '***' (empty and missing secrets stay as they are)."""
    if data is None:
        return None
    return {key: (MASK if key in SECRET_KEYS and value not in (None, "") else value) for key, value in data.items()}


def dumps(data: Mapping[str, Any] | None) -> str | None:
    masked = mask(data)
    return None if masked is None else json.dumps(masked, sort_keys=True, default=str)


def record(session: Session, actor: Actor, action: str, entity: str, entity_id: Any, *,
           tenant_id: int | None = None, before: Mapping[str, Any] | None = None,
           after: Mapping[str, Any] | None = None) -> AuditEntry:
    """Add an audit row for a change (the caller's commit keeps or drops it with the change)."""
    entry = AuditEntry(
        actor=actor.name[:64], source=actor.source, action=action, entity=entity, entity_id=str(entity_id)[:64],
        tenant_id=tenant_id, before_json=dumps(before), after_json=dumps(after),
    )
    session.add(entry)
    return entry


def rows(actor: Actor, action: str, entity: str, items: list[tuple[Any, int | None, Mapping[str, Any]]]) -> list[dict]:
    """Audit rows as dicts for a bulk insert (CSV import): (entity_id, tenant_id, after) each."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    return [
        {"at": now, "actor": actor.name[:64], "source": actor.source, "action": action, "entity": entity,
         "entity_id": str(entity_id)[:64], "tenant_id": tenant_id, "before_json": None, "after_json": dumps(after)}
        for entity_id, tenant_id, after in items
    ]


def _since(value: str):
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("bad filter", {"since": ["must be an ISO date or date-time"]}) from None
    return AuditEntry.at >= moment


def _until(value: str):
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("bad filter", {"until": ["must be an ISO date or date-time"]}) from None
    return AuditEntry.at <= moment


def search(session: Session, actor: Actor, params: ListParams) -> Page[AuditEntry]:
    """Audit entries, newest first; filters entity, entity_id, action, actor, source, tenant_id, since, until.

    A tenant admin sees only the entries of its own tenant.
    """
    stmt = select(AuditEntry)
    if not actor.is_superadmin:
        stmt = stmt.where(AuditEntry.tenant_id == actor.tenant_id)
    return paginate(
        session, stmt, params,
        sortable={"at": AuditEntry.at, "entity": AuditEntry.entity, "actor": AuditEntry.actor},
        default_sort=[AuditEntry.id.desc()],
        filters={
            "entity": exact_filter(AuditEntry.entity), "entity_id": exact_filter(AuditEntry.entity_id),
            "action": exact_filter(AuditEntry.action), "actor": exact_filter(AuditEntry.actor),
            "source": exact_filter(AuditEntry.source), "tenant_id": int_filter(AuditEntry.tenant_id),
            "since": _since, "until": _until,
        },
    )


def decoded(entry: AuditEntry) -> tuple[dict | None, dict | None]:
    """The entry's before and after data as dicts."""
    return (json.loads(entry.before_json) if entry.before_json else None,
            json.loads(entry.after_json) if entry.after_json else None)
