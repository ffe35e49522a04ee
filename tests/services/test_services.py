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


def test_form_input_blank_secret_keeps_the_stored_one_and_blank_optional_means_none(session):
    from xmlcurl.services import gateways, sip_users
    actor = Actor.cli()
    gateway = gateways.create(session, actor, {"name": "gw-form", "proxy": "127.0.0.40", "register": "on",
                                               "username": "acct", "password": "carrier-pass", "realm": ""})
    assert gateway.realm is None and gateway.register is True
    gateways.update(session, actor, gateway.id, {"password": "", "username": "acct2", "prepend": ""})
    assert gateway.password == "carrier-pass" and gateway.username == "acct2"
    tenant = tenants.create(session, actor, {"code": "formco", "name": "Form Co", "sip_domain": "form.example.com",
                                             "context": "", "max_calls": "12", "default_cid_number": ""})
    assert tenant.context == "tenant-formco" and tenant.max_calls == 12 and tenant.default_cid_number is None
    user = sip_users.create(session, actor, {"tenant_id": str(tenant.id), "username": "100", "password": "pw-form-100"})
    old_hash = user.a1_hash
    sip_users.update(session, actor, user.id, {"password": "", "tenant_id": "", "cid_name": "Front"})
    assert user.a1_hash == old_hash and user.cid_name == "Front"


def test_a_login_is_recorded(session):
    user = session.get(AdminUser, 1)
    admin_users.record_login(session, user)
    assert user.last_login_at is not None
