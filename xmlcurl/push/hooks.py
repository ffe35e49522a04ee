"""Changes noticed on the ORM session: collected at flush, pushed after the commit, dropped on rollback.

Services need no call: whatever they change through the models reaches the nodes when
XMLCURL_PUSH_AUTO is on. Changes made with plain SQL are not seen here (`xmlcurl push` resyncs).
"""
from __future__ import annotations

import logging
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from ..models import Gateway, Node, SipUser, SipUserVariable, TenantNode
from .plan import Change, EslChange, GatewayChange, NodeChange, PinningChange, UserChange

log = logging.getLogger("xmlcurl.push")

KEY = "xmlcurl.push.changes"
GATEWAY_ACL_FIELDS = ("source_cidrs", "proxy", "enabled")
USER_FIELDS = ("a1_hash", "username", "enabled", "kind", "tenant_id", "cid_name", "cid_number",
               "outbound_cid_name", "outbound_cid_number")
NODE_FIELDS = ("name", "role", "sip_address", "sip_port", "cluster_port", "enabled")
# What the other nodes' hash.conf remote for this node is made of.
ESL_FIELDS = ("esl_address", "esl_port", "esl_password_enc")

_installed = False


def install() -> None:
    """Listen on every Session (idempotent)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "before_flush", _collect)
    event.listen(Session, "after_commit", _committed)
    event.listen(Session, "after_soft_rollback", _rolled_back)
    _installed = True


def _auto() -> bool:
    return has_app_context() and bool(current_app.config.get("XMLCURL", {}).get("PUSH_AUTO"))


def _collect(session: Session, _context: Any, _instances: Any) -> None:
    if not _auto():
        return
    found: dict[Change, None] = session.info.setdefault(KEY, {})
    with session.no_autoflush:
        for state, objects in (("new", session.new), ("dirty", session.dirty), ("deleted", session.deleted)):
            for obj in list(objects):
                if state == "dirty" and not session.is_modified(obj):
                    continue
                for change in _describe(session, obj, state):
                    found[change] = None


def _changed(obj: Any, names: tuple[str, ...]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in names)


def _old(obj: Any, name: str) -> Any:
    deleted = inspect(obj).attrs[name].history.deleted
    return deleted[0] if deleted else None


def _describe(session: Session, obj: Any, state: str) -> list[Change]:
    if isinstance(obj, Gateway):
        old_name = _old(obj, "name") if state == "dirty" else None
        acl = state != "dirty" or _changed(obj, GATEWAY_ACL_FIELDS)
        return [GatewayChange(obj.name, old_name if old_name != obj.name else None, acl)]
    if isinstance(obj, SipUser):
        if state == "new" or (state == "dirty" and not _changed(obj, USER_FIELDS)):
            return []
        changes = [UserChange(obj.tenant_id, obj.username)]
        if state == "dirty" and (_old(obj, "username") or _old(obj, "tenant_id")):
            changes.append(UserChange(_old(obj, "tenant_id") or obj.tenant_id, _old(obj, "username") or obj.username))
        return changes
    if isinstance(obj, SipUserVariable):
        # A variable added through the relationship has no user_id before the flush; a removed one
        # has lost its relationship but kept user_id.
        user = obj.user if obj.user is not None else (session.get(SipUser, obj.user_id) if obj.user_id else None)
        if user is None or inspect(user).pending:
            return []
        return [UserChange(user.tenant_id, user.username)]
    if isinstance(obj, Node):
        if state == "dirty" and not _changed(obj, NODE_FIELDS):
            return [EslChange(obj.name, obj.role)] if _changed(obj, ESL_FIELDS) else []
        old_name = _old(obj, "name") if state == "dirty" else None
        changes: list[Change] = [NodeChange(obj.name, obj.role, old_name if old_name != obj.name else None)]
        old_role = _old(obj, "role") if state == "dirty" else None
        if old_role and old_role != obj.role:
            changes.append(NodeChange(old_name or obj.name, old_role))
        return changes
    if isinstance(obj, TenantNode):
        # A new weight changes only the order of the dialplan's legs, which is fetched per call.
        return [] if state == "dirty" else [PinningChange(obj.tenant_id, obj.node_id)]
    return []


def discard(session: Session) -> None:
    """Forget the changes collected in `session` so far: the caller pushes them itself."""
    session.info.pop(KEY, None)


def _committed(session: Session) -> None:
    changes = session.info.pop(KEY, None)
    if not changes or not _auto():
        return
    from . import changes_committed

    try:
        changes_committed(list(changes))
    except Exception:  # noqa: BLE001 - the commit has happened; a push problem must not turn it into an error
        log.exception("push: planning after commit failed")


def _rolled_back(session: Session, previous_transaction: Any) -> None:
    # A rolled-back savepoint keeps what was collected: an extra push is harmless, a missed one is not.
    if not previous_transaction.nested:
        session.info.pop(KEY, None)
