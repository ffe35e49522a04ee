"""Database constraint violations become Conflicts keyed on the constraint name, on each database."""
from __future__ import annotations

import pytest

from xmlcurl.models import Did, Gateway, Tenant
from xmlcurl.services.common import flush
from xmlcurl.services.errors import Conflict


def test_a_unique_violation_is_named(session):
    session.add(Tenant(code="acme", name="dup", sip_domain="dup.example.com", context="dup"))
    with pytest.raises(Conflict) as caught:
        flush(session)
    assert caught.value.constraint == "uq_tenants_code" and "code" in caught.value.errors


def test_a_check_violation_is_named(session):
    session.add(Gateway(name="g", proxy="127.0.0.1", register=True))
    with pytest.raises(Conflict) as caught:
        flush(session)
    assert caught.value.constraint == "ck_gateways_register_credentials"


def test_a_did_pointing_at_another_tenants_user_is_refused_by_the_database(session, backend):
    session.add(Did(number="8610009999", tenant_id=1, user_id=11))
    with pytest.raises(Conflict) as caught:
        flush(session)
    # SQLite names no foreign key in its message; MariaDB does.
    expected = None if backend == "sqlite" else "fk_dids_tenant_user"
    assert caught.value.constraint == expected
