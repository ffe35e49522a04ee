"""Bulk actions on many rows at once (enable, disable, delete): one transaction, one audit entry.

Each row goes through its resource's own service, so every rule (a tenant admin's reach, a DID
still ringing a user, a user without a credential) holds exactly as for one row.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy.orm import Session

from . import audit, caller_ids, dids, gateways, routes, sip_users
from .actor import Actor
from .errors import Invalid, ServiceError

ACTIONS = ("enable", "disable", "delete")
#: entity -> (service, the actions it takes)
SERVICES = {
    "sip_user": (sip_users, ACTIONS), "did": (dids, ACTIONS), "route": (routes, ACTIONS),
    "gateway": (gateways, ACTIONS), "approved_caller_id": (caller_ids, ("delete",)),
}
MAX_ROWS = 10_000


def apply(session: Session, actor: Actor, entity: str, ids: Iterable[int | str], action: str) -> int:
    """Enable, disable or delete the rows; all or none (the first refusal names its row). Returns how many."""
    if entity not in SERVICES:
        raise Invalid("this kind of row has no bulk actions", {"entity": [f"choose one of {', '.join(SERVICES)}"]})
    service, allowed = SERVICES[entity]
    if action not in allowed:
        raise Invalid("unknown bulk action", {"action": [f"choose one of {', '.join(allowed)}"]})
    wanted: list[int] = []
    for ident in ids:
        text = str(ident).strip()
        if not text.isascii() or not text.isdigit() or len(text) > 10:
            raise Invalid("a selected row is not a row id", {"ids": [f"{text!r} is not a row id"]})
        if int(text) not in wanted:
            wanted.append(int(text))
    if not wanted:
        raise Invalid("no rows selected", {"ids": ["select at least one row"]})
    if len(wanted) > MAX_ROWS:
        raise Invalid("too many rows selected", {"ids": [f"at most {MAX_ROWS} rows at once"]})
    names = audit.Names(session)
    with audit.batch(session, actor, f"bulk {action}", entity):
        for ident in wanted:
            row = service.get(session, actor, ident)  # NotFound outside the actor's reach
            name = names.of(entity, {c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs})
            try:
                if action == "delete":
                    service.delete(session, actor, ident)
                else:
                    service.update(session, actor, ident, {"enabled": "true" if action == "enable" else "false"})
            except ServiceError as exc:
                exc.message = f"{name}: {exc.message}; nothing was changed"
                raise
    return len(wanted)
