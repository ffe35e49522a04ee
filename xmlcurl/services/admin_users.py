"""Admin users (superadmin only, except changing one's own password); passwords hashed with argon2."""
from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import secrets
from ..models import AdminUser, Tenant
from ..schemas import AdminUserSchema, PasswordChangeSchema
from . import audit
from .actor import Actor, require_superadmin
from .common import (apply, ListParams, Page, bool_filter, exact_filter, flush, get_or_404, int_filter, load, paginate,
                     search_filter, snapshot)
from .errors import CONSTRAINTS, Conflict, Forbidden, Invalid

SCHEMA = AdminUserSchema()
PASSWORD_SCHEMA = PasswordChangeSchema()
FIELDS = ("username", "role", "tenant_id", "enabled")


def search(session: Session, actor: Actor, params: ListParams) -> Page[AdminUser]:
    """Admin users; filters q, role, tenant_id, enabled; sort username, role, last_login_at."""
    require_superadmin(actor, "admin user")
    return paginate(
        session, select(AdminUser), params,
        sortable={"id": AdminUser.id, "username": AdminUser.username, "role": AdminUser.role,
                  "last_login_at": AdminUser.last_login_at},
        default_sort=[AdminUser.username],
        filters={"q": search_filter(AdminUser.username), "role": exact_filter(AdminUser.role),
                 "tenant_id": int_filter(AdminUser.tenant_id), "enabled": bool_filter(AdminUser.enabled)},
    )


def get(session: Session, actor: Actor, user_id: int) -> AdminUser:
    require_superadmin(actor, "admin user")
    return get_or_404(session, AdminUser, user_id, "admin user")


def by_username(session: Session, username: str) -> AdminUser | None:
    return session.scalars(select(AdminUser).where(AdminUser.username == username)).first()


def _check(session: Session, state: Mapping[str, Any], own_id: int | None) -> None:
    if state["role"] == "tenant_admin":
        if state.get("tenant_id") is None:
            raise Invalid("a tenant admin needs a tenant", {"tenant_id": ["required for a tenant admin"]})
        if session.get(Tenant, state["tenant_id"]) is None:
            raise Invalid("no such tenant", {"tenant_id": ["no such tenant"]})
    elif state.get("tenant_id") is not None:
        raise Invalid("a superadmin has no tenant", {"tenant_id": ["must be empty for a superadmin"]})
    stmt = select(AdminUser.id).where(AdminUser.username == state["username"])
    if own_id is not None:
        stmt = stmt.where(AdminUser.id != own_id)
    if session.scalar(stmt) is not None:
        message = CONSTRAINTS["uq_admin_users_username"][1]
        raise Conflict(message, {"username": [message]}, constraint="uq_admin_users_username")


def _other_superadmins(session: Session, own_id: int) -> int:
    return session.scalar(select(func.count()).select_from(AdminUser).where(
        AdminUser.role == "superadmin", AdminUser.enabled.is_(True), AdminUser.id != own_id)) or 0


def create(session: Session, actor: Actor, payload: Mapping[str, Any]) -> AdminUser:
    require_superadmin(actor, "admin user")
    data = load(SCHEMA, payload)
    _check(session, data, None)
    user = AdminUser(password_hash=secrets.hash_admin_password(data["password"]),
                     **{k: v for k, v in data.items() if k in FIELDS})
    session.add(user)
    flush(session)
    session.refresh(user)
    audit.record(session, actor, "create", "admin_user", user.id, tenant_id=user.tenant_id, after=snapshot(user))
    return user


def update(session: Session, actor: Actor, user_id: int, payload: Mapping[str, Any]) -> AdminUser:
    """Change some fields (password included); the last enabled superadmin stays one."""
    user = get(session, actor, user_id)
    data = load(SCHEMA, payload, partial=True)
    state = {**snapshot(user), **data}
    if "role" in data and data["role"] == "superadmin" and "tenant_id" not in data:
        state["tenant_id"] = None
        data["tenant_id"] = None
    _check(session, state, user.id)
    demoted = user.role == "superadmin" and user.enabled and (state["role"] != "superadmin" or not state["enabled"])
    if demoted and not _other_superadmins(session, user.id):
        raise Conflict("this is the last enabled superadmin; create another before demoting or disabling it",
                       {"role": ["the last enabled superadmin"]})
    before = snapshot(user)
    apply(user, data, FIELDS)
    if "password" in data:
        user.password_hash = secrets.hash_admin_password(data["password"])
    if "password" in data or not user.enabled:
        end_sessions(user)
    flush(session)
    session.refresh(user)
    audit.record(session, actor, "update", "admin_user", user.id, tenant_id=user.tenant_id,
                 before=before, after=snapshot(user))
    return user


def delete(session: Session, actor: Actor, user_id: int) -> None:
    """Delete an admin user (its API tokens go with it); never oneself nor the last superadmin."""
    user = get(session, actor, user_id)
    if user.id == actor.user_id:
        raise Forbidden("you cannot delete your own account")
    if user.role == "superadmin" and user.enabled and not _other_superadmins(session, user.id):
        raise Conflict("this is the last enabled superadmin", {"role": ["the last enabled superadmin"]})
    before = snapshot(user)
    session.delete(user)
    flush(session)
    audit.record(session, actor, "delete", "admin_user", user_id, tenant_id=before["tenant_id"], before=before)


def change_own_password(session: Session, actor: Actor, payload: Mapping[str, Any]) -> AdminUser:
    """Any admin user changes its own password, giving the current one."""
    data = load(PASSWORD_SCHEMA, payload)
    user = session.get(AdminUser, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise Forbidden("only an admin user has a password to change")
    if not secrets.verify_admin_password(user.password_hash, data["current_password"]):
        raise Invalid("the current password is wrong", {"current_password": ["wrong password"]})
    before = snapshot(user)
    user.password_hash = secrets.hash_admin_password(data["new_password"])
    end_sessions(user)
    flush(session)
    audit.record(session, actor, "update", "admin_user", user.id, tenant_id=user.tenant_id,
                 before=before, after=snapshot(user))
    return user


def authenticate(session: Session, username: str, password: str) -> AdminUser | None:
    """The enabled admin user with this username and password (for the login page), else None."""
    user = by_username(session, username)
    if user is None or not user.enabled:
        # Hash anyway so a wrong username takes as long as a wrong password.
        secrets.verify_admin_password(_dummy_hash(), password)
        return None
    return user if secrets.verify_admin_password(user.password_hash, password) else None


def end_sessions(user: AdminUser) -> None:
    """Sign the user out everywhere: every session cookie issued before is refused from now on."""
    user.session_generation = (user.session_generation or 0) + 1


def record_login(session: Session, user: AdminUser) -> None:
    """Note a successful login (not audited: it changes nothing the nodes are served)."""
    user.last_login_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    flush(session)


@functools.cache
def _dummy_hash() -> str:
    return secrets.hash_admin_password("not a real password, only for constant time")
