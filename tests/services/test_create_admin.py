"""`xmlcurl create-admin`: prompts or reads stdin, hashes the password, audits with source cli."""
from __future__ import annotations

from sqlalchemy import select

from xmlcurl import db, secrets
from xmlcurl.models import AdminUser, AuditEntry


def test_create_a_tenant_admin_from_stdin(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "acme-ops", "--role", "tenant_admin", "--tenant", "acme",
                                                "--password-stdin"], input="a-long-cli-password\n")
    assert result.exit_code == 0, result.output
    assert "created tenant_admin acme-ops of tenant acme" in result.output
    with app.app_context():
        session = db.session()
        user = session.scalars(select(AdminUser).where(AdminUser.username == "acme-ops")).one()
        assert user.tenant_id == 1 and secrets.verify_admin_password(user.password_hash, "a-long-cli-password")
        entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "admin_user")).one()
        assert entry.source == "cli" and entry.actor.startswith("cli:") and "a-long-cli-password" not in entry.after_json


def test_the_password_prompt_asks_twice(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "root2", "--role", "superadmin"],
                                          input="a-long-cli-password\na-long-cli-password\n")
    assert result.exit_code == 0, result.output


def test_refusals_are_clear_and_create_nothing(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "x", "--role", "tenant_admin", "--tenant", "nope", "--password-stdin"],
                           input="a-long-cli-password\n")
    assert result.exit_code != 0 and "no tenant with code 'nope'" in result.output
    result = runner.invoke(args=["create-admin", "admin", "--role", "superadmin", "--password-stdin"], input="short\n")
    assert result.exit_code != 0 and "password" in result.output
    result = runner.invoke(args=["create-admin", "admin", "--role", "superadmin", "--password-stdin"],
                           input="a-long-cli-password\n")
    assert result.exit_code != 0 and "already exists" in result.output
    result = runner.invoke(args=["create-admin", "t", "--role", "tenant_admin", "--password-stdin"],
                           input="a-long-cli-password\n")
    assert result.exit_code != 0 and "tenant" in result.output
