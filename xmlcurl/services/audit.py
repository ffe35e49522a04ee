"""The audit log: one row per create/update/delete, in the change's own transaction, secrets masked."""
from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator, Mapping

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..models import AuditEntry, Gateway, Node, Tenant
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


#: The rows of the batch being collected in this context (see `batch`), or None.
_BATCH: ContextVar[list[dict[str, Any]] | None] = ContextVar("xmlcurl_audit_batch", default=None)


def record(session: Session, actor: Actor, action: str, entity: str, entity_id: Any, *,
           tenant_id: int | None = None, before: Mapping[str, Any] | None = None,
           after: Mapping[str, Any] | None = None) -> AuditEntry | None:
    """Add an audit row for a change (the caller's commit keeps or drops it with the change);
    inside `batch` the change joins the batch's single entry instead."""
    collected = _BATCH.get()
    if collected is not None:
        collected.append({"action": action, "entity": entity, "id": entity_id, "tenant_id": tenant_id,
                          "before": mask(before), "after": mask(after)})
        return None
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


def add_rows(session: Session, entries: list[dict[str, Any]]) -> None:
    """Insert rows made by `rows` (bulk writes); inside `batch` they join its single entry."""
    collected = _BATCH.get()
    if collected is not None:
        collected.extend({"action": e["action"], "entity": e["entity"], "id": e["entity_id"], "tenant_id": e["tenant_id"],
                          "before": json.loads(e["before_json"]) if e["before_json"] else None,
                          "after": json.loads(e["after_json"]) if e["after_json"] else None} for e in entries)
        return
    for start in range(0, len(entries), 5000):
        session.execute(insert(AuditEntry), entries[start:start + 5000])


@contextmanager
def batch(session: Session, actor: Actor, action: str, entity: str) -> Iterator[list[dict[str, Any]]]:
    """Collect every change made inside into ONE audit entry that lists its rows by name (a bulk action,
    a CSV import, a tenant deleted with what it owns). Nothing is written if the block raises."""
    collected: list[dict[str, Any]] = []
    token = _BATCH.set(collected)
    try:
        yield collected
    finally:
        _BATCH.reset(token)
    if not collected:
        return
    names = Names(session)
    listed = [{**item, "name": names.of(item["entity"], item["after"] or item["before"] or {})} for item in collected]
    tenants = {item["tenant_id"] for item in collected}
    tenant_id = tenants.pop() if len(tenants) == 1 else None
    if not actor.is_superadmin:
        tenant_id = actor.tenant_id  # a tenant admin's batch never spans tenants (the services refuse it)
    entry = AuditEntry(actor=actor.name[:64], source=actor.source, action=action[:16], entity=entity[:32],
                       entity_id=f"{len(collected)} rows"[:64], tenant_id=tenant_id, before_json=None,
                       after_json=json.dumps({"rows": listed}, sort_keys=True, default=str))
    session.add(entry)


class Names:
    """Rows named as people say them ("SIP user 1000@acme.example.com", "DID 8610000001",
    "route 86 -> carrier-b"), from an audit entry's data; the few lookups are read once."""

    def __init__(self, session: Session, infrastructure: bool = True) -> None:
        # A tenant admin's log does not name gateways and nodes (it never sees them elsewhere either).
        self._infrastructure = infrastructure
        self._session = session
        self._tenants: dict[int, tuple[str, str]] | None = None
        self._gateways: dict[int, str] | None = None
        self._nodes: dict[int, str] | None = None

    def _tenant(self, ident: Any) -> tuple[str, str] | None:
        if self._tenants is None:
            self._tenants = {i: (code, domain) for i, code, domain in
                             self._session.execute(select(Tenant.id, Tenant.code, Tenant.sip_domain)).tuples()}
        return self._tenants.get(ident)

    def _gateway(self, ident: Any) -> str:
        if not self._infrastructure:
            return f"gateway #{ident}"
        if self._gateways is None:
            self._gateways = dict(self._session.execute(select(Gateway.id, Gateway.name)).tuples().all())
        return self._gateways.get(ident, f"gateway #{ident}")

    def _node(self, ident: Any) -> str:
        if not self._infrastructure:
            return f"node #{ident}"
        if self._nodes is None:
            self._nodes = dict(self._session.execute(select(Node.id, Node.name)).tuples().all())
        return self._nodes.get(ident, f"node #{ident}")

    def of(self, entity: str, data: Mapping[str, Any], entity_id: Any = None) -> str:
        """The row's name from its stored data; '<entity> #id' when the data does not name it."""
        data = data or {}
        if entity == "sip_user" and data.get("username"):
            tenant = self._tenant(data.get("tenant_id"))
            return f"SIP user {data['username']}@{tenant[1] if tenant else '#' + str(data.get('tenant_id'))}"
        if entity == "did" and data.get("number"):
            return f"DID {data['number']}"
        if entity == "route" and "gateway_id" in data:
            return f"route {data.get('prefix') or '(any)'} -> {self._gateway(data['gateway_id'])}"
        if entity == "tenant" and data.get("code"):
            return f"tenant {data['code']}"
        if entity in ("node", "gateway") and data.get("name"):
            return f"{entity} {data['name']}"
        if entity == "admin_user" and data.get("username"):
            return f"admin user {data['username']}"
        if entity == "api_token" and data.get("name"):
            return f"API token {data['name']}"
        if entity == "approved_caller_id" and data.get("number"):
            return f"approved caller ID {data['number']}"
        if entity == "pinning" and "node_id" in data:
            tenant = self._tenant(data.get("tenant_id"))
            return f"pinning {tenant[0] if tenant else '#' + str(data.get('tenant_id'))} -> {self._node(data['node_id'])}"
        ident = data.get("id", entity_id)
        return f"{entity.replace('_', ' ')} #{ident}"


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
