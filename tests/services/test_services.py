"""Service rules that the API tests do not reach: audit masking, the CLI actor, transactions."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from xmlcurl.models import AdminUser, AuditEntry
from xmlcurl.services import Actor, Conflict, admin_users, audit, tenants
from xmlcurl.services.audit import mask


def test_mask_hides_every_secret_but_shows_whether_it_is_set():
    masked = mask({"password": "x", "a1_hash": "abc", "http_secret_hash": "$argon2", "token_hash": "f0",
                   "password_hash": "h", "name": "kept", "esl_password_enc": None, "http_secret": ""})
    assert masked == {"password": "***", "a1_hash": "***", "http_secret_hash": "***", "token_hash": "***",
                      "password_hash": "***", "name": "kept", "esl_password_enc": None, "http_secret": ""}


def test_the_last_superadmin_cannot_be_deleted_even_from_the_cli(session):
    with pytest.raises(Conflict):
        admin_users.delete(session, Actor.cli(), 1)


def test_cli_changes_are_audited_with_source_cli(session):
    tenants.update(session, Actor.cli("cli:ops"), 1, {"max_calls": 7})
    session.commit()
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.actor, entry.source, entry.action, entry.entity, entry.entity_id) == ("cli:ops", "cli", "update", "tenant", "1")
    before, after = audit.decoded(entry)
    assert before["max_calls"] == 100 and after["max_calls"] == 7


def test_admin_login_check(session, monkeypatch):
    assert admin_users.authenticate(session, "admin", "demo-admin-password").id == 1
    assert admin_users.authenticate(session, "admin", "wrong") is None
    assert admin_users.authenticate(session, "nobody", "demo-admin-password") is None


def test_own_password_change_needs_the_current_password(session):
    actor = Actor.for_user(session.get(AdminUser, 1), "admin")
    from xmlcurl.services import Invalid
    with pytest.raises(Invalid):
        admin_users.change_own_password(session, actor, {"current_password": "nope", "new_password": "x" * 12})
    admin_users.change_own_password(session, actor, {"current_password": "demo-admin-password",
                                                     "new_password": "a-new-admin-password"})
    assert admin_users.authenticate(session, "admin", "a-new-admin-password") is not None
