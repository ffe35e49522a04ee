"""API tokens: created for an admin user and shown once, kept as SHA-256, revoked (never reused)."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets as pysecrets
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AdminUser, ApiToken
from ..schemas import ApiTokenSchema
from . import audit
from .actor import Actor
from .common import ListParams, Page, flush, int_filter, load, paginate, snapshot
from .errors import Invalid, NotFound

SCHEMA = ApiTokenSchema()
PREFIX = "xc_"
# A token's last use is written at most this often, so scripts do not turn every read into a write.
TOUCH_INTERVAL = dt.timedelta(seconds=60)


def hash_token(token: str) -> str:
    """SHA-256 hex: tokens are 256-bit random strings, so a fast hash is enough (no guessing)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def _visible(actor: Actor):
    """A superadmin sees every token; anyone else only its own."""
    return None if actor.is_superadmin else ApiToken.admin_user_id == actor.user_id


def _revoked_filter(value: str):
    lowered = value.lower()
    if lowered not in ("true", "false", "1", "0"):
        raise Invalid("bad filter", {"revoked": ["must be true or false"]})
    return ApiToken.revoked_at.isnot(None) if lowered in ("true", "1") else ApiToken.revoked_at.is_(None)


def search(session: Session, actor: Actor, params: ListParams) -> Page[ApiToken]:
    """Tokens (a tenant admin sees its own); filters admin_user_id, revoked; sort created_at, name."""
    stmt = select(ApiToken)
    if (own := _visible(actor)) is not None:
        stmt = stmt.where(own)
    return paginate(
        session, stmt, params,
        sortable={"id": ApiToken.id, "name": ApiToken.name, "created_at": ApiToken.created_at,
                  "last_used_at": ApiToken.last_used_at},
        default_sort=[ApiToken.id.desc()],
        filters={"admin_user_id": int_filter(ApiToken.admin_user_id), "revoked": _revoked_filter},
    )


def get(session: Session, actor: Actor, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or not (actor.is_superadmin or token.admin_user_id == actor.user_id):
        raise NotFound("no such API token")
    return token


def create(session: Session, actor: Actor, payload: Mapping[str, Any]) -> tuple[ApiToken, str]:
    """Create a token (for oneself, or for any admin user as a superadmin); returns (row, token).

    The token itself is returned only here: show it once, it cannot be recovered.
    """
    data = load(SCHEMA, payload)
    owner_id = data.get("admin_user_id", actor.user_id)
    if owner_id is None:
        raise Invalid("whose token is it?", {"admin_user_id": ["required"]})
    if not actor.is_superadmin and owner_id != actor.user_id:
        raise NotFound("no such admin user")
    owner = session.get(AdminUser, owner_id)
    if owner is None:
        raise Invalid("no such admin user", {"admin_user_id": ["no such admin user"]})
    plaintext = PREFIX + pysecrets.token_urlsafe(32)
    token = ApiToken(admin_user_id=owner.id, name=data["name"], token_hash=hash_token(plaintext))
    session.add(token)
    flush(session)
    session.refresh(token)
    audit.record(session, actor, "create", "api_token", token.id, tenant_id=owner.tenant_id, after=snapshot(token))
    return token, plaintext


def revoke(session: Session, actor: Actor, token_id: int) -> ApiToken:
    """Revoke a token (kept, for the audit trail); revoking twice changes nothing."""
    token = get(session, actor, token_id)
    if token.revoked_at is None:
        before = snapshot(token)
        token.revoked_at = _now()
        flush(session)
        owner = session.get(AdminUser, token.admin_user_id)
        audit.record(session, actor, "revoke", "api_token", token.id, tenant_id=owner.tenant_id if owner else None,
                     before=before, after=snapshot(token))
    return token


def authenticate(session: Session, presented: str, source: str = "api") -> Actor | None:
    """The actor a bearer token acts as, or None (unknown, revoked, or its user disabled).

    Updates last_used_at when older than a minute (the caller commits it).
    """
    if not presented or len(presented) > 256:
        return None
    row = session.execute(
        select(ApiToken, AdminUser).join(AdminUser, AdminUser.id == ApiToken.admin_user_id)
        .where(ApiToken.token_hash == hash_token(presented))
    ).first()
    if row is None:
        return None
    token, user = row
    if token.revoked_at is not None or not user.enabled:
        return None
    now = _now()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
        token.last_used_at = now
    return Actor.for_user(user, source)
