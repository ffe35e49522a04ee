"""The synthetic data generator, on an empty schema of each backend."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from xmlcurl import db
from xmlcurl.generate import GenerateError, GeneratorOptions, generate_dataset
from xmlcurl.models import ApprovedCallerId, Did, Gateway, Node, Route, SipUser, Tenant, TenantNode
from xmlcurl.secrets import sip_a1_hash

from .conftest import MYSQL_URL, mysql_server_engine

SMALL = GeneratorOptions(tenants=7, users=60, routes=90, dids=25, routers=2, media=3, gateways=5, batch=100, seed=4)


@pytest.fixture
def fresh_engine(backend: str, tmp_path: Path) -> Engine:
    """An empty schema on a database of its own."""
    if backend == "sqlite":
        engine = db.make_engine(f"sqlite:///{tmp_path / 'gen.sqlite3'}", {})
    else:
        engine = mysql_server_engine(MYSQL_URL + "_gen")
        db.drop_all(engine)
    db.create_schema(engine)
    yield engine
    engine.dispose()


def _rows(engine: Engine, model, *columns) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(*columns).order_by(*columns))]


def test_generate_writes_the_requested_counts(fresh_engine):
    summary = generate_dataset(fresh_engine, SMALL, progress=False)
    assert summary["nodes"] == 5 and summary["tenants"] == 7 and summary["sip_users"] == 60
    assert summary["gateways"] == 5 and summary["routes"] == 90 and summary["dids"] == 25
    with fresh_engine.connect() as conn:
        for model, expected in ((Node, 5), (Tenant, 7), (SipUser, 60), (Gateway, 5), (Route, 90), (Did, 25)):
            assert conn.scalar(select(func.count()).select_from(model)) == expected
        assert conn.scalar(select(func.count()).select_from(TenantNode)) == summary["tenant_nodes"]
        # Every tenant's default caller ID is approved for it, so answers present it.
        assert summary["approved_caller_ids"] == 7
        assert conn.scalar(select(func.count()).select_from(ApprovedCallerId).join(
            Tenant, (Tenant.id == ApprovedCallerId.tenant_id) & (Tenant.default_cid_number == ApprovedCallerId.number))) == 7
        roles = dict(conn.execute(select(Node.role, func.count()).group_by(Node.role)).all())
    assert roles == {"router": 2, "media": 3}


def test_generated_nodes_have_distinct_loopback_addresses_and_demo_style_secrets(fresh_engine):
    from xmlcurl.secrets import _verify_node_secret

    generate_dataset(fresh_engine, SMALL, progress=False)
    nodes = _rows(fresh_engine, Node, Node.name, Node.sip_address, Node.http_secret_hash)
    addresses = [address for _, address, _ in nodes]
    assert len(set(addresses)) == len(addresses) and all(a.startswith("127.") for a in addresses)
    assert all(_verify_node_secret(secret_hash, f"{name}-secret") for name, _, secret_hash in nodes)


def test_every_tenant_is_pinned_to_one_or_two_media_nodes(fresh_engine):
    generate_dataset(fresh_engine, SMALL, progress=False)
    with fresh_engine.connect() as conn:
        per_tenant = dict(conn.execute(select(TenantNode.tenant_id, func.count()).group_by(TenantNode.tenant_id)).all())
        pinned_roles = set(conn.scalars(select(Node.role).join(TenantNode, TenantNode.node_id == Node.id)))
    assert set(per_tenant) == set(range(1, 8)) and set(per_tenant.values()) <= {1, 2}
    assert pinned_roles == {"media"}


def test_user_a1_hashes_match_the_documented_passwords(fresh_engine):
    generate_dataset(fresh_engine, SMALL, progress=False)
    with fresh_engine.connect() as conn:
        rows = conn.execute(select(Tenant.code, Tenant.sip_domain, SipUser.username, SipUser.a1_hash, SipUser.kind)
                            .join(SipUser, SipUser.tenant_id == Tenant.id)).all()
    assert len(rows) == 60
    assert {kind for *_, kind in rows} == {"agent", "robot"}
    for code, domain, name, a1_hash, _ in rows:
        assert a1_hash == sip_a1_hash(name, domain, f"pw-{code}-{name}")


def test_routes_are_unique_per_scope_prefix_and_gateway_with_global_and_tenant_routes(fresh_engine):
    generate_dataset(fresh_engine, SMALL, progress=False)
    routes = _rows(fresh_engine, Route, Route.tenant_id, Route.prefix, Route.gateway_id)
    keys = [(tenant or 0, prefix, gateway) for tenant, prefix, gateway in routes]
    assert len(set(keys)) == len(keys) == 90
    assert any(tenant is None for tenant, _, _ in routes) and any(tenant is not None for tenant, _, _ in routes)
    assert (0, "") in {(scope, prefix) for scope, prefix, _ in keys}
    assert all(prefix.isdigit() for _, prefix, _ in keys if prefix)


def test_dids_are_unique_and_point_at_users_of_their_own_tenant(fresh_engine):
    generate_dataset(fresh_engine, SMALL, progress=False)
    with fresh_engine.connect() as conn:
        dids = conn.execute(select(Did.number, Did.tenant_id, SipUser.tenant_id)
                            .join(SipUser, SipUser.id == Did.user_id)).all()
    assert len(dids) == 25 and len({number for number, _, _ in dids}) == 25
    assert all(did_tenant == user_tenant for _, did_tenant, user_tenant in dids)


def test_the_same_seed_gives_the_same_data_and_another_seed_does_not(fresh_engine, tmp_path):
    def snapshot(engine: Engine) -> list:
        return [
            _rows(engine, TenantNode, TenantNode.tenant_id, TenantNode.node_id, TenantNode.weight),
            _rows(engine, SipUser, SipUser.tenant_id, SipUser.username, SipUser.kind),
            _rows(engine, Route, Route.tenant_id, Route.prefix, Route.gateway_id, Route.priority, Route.weight),
            _rows(engine, Did, Did.number, Did.tenant_id, Did.user_id),
        ]

    generate_dataset(fresh_engine, SMALL, progress=False)
    first = snapshot(fresh_engine)
    for seed, same in ((SMALL.seed, True), (SMALL.seed + 1, False)):
        other = db.make_engine(f"sqlite:///{tmp_path / f'seed{seed}.sqlite3'}", {})
        db.create_schema(other)
        generate_dataset(other, GeneratorOptions(**{**SMALL.__dict__, "seed": seed}), progress=False)
        assert (snapshot(other) == first) is same
        other.dispose()


def test_generate_refuses_a_database_that_already_has_data(fresh_engine):
    generate_dataset(fresh_engine, SMALL, progress=False)
    with pytest.raises(GenerateError, match="not empty"):
        generate_dataset(fresh_engine, SMALL, progress=False)


def test_generate_refuses_impossible_options(fresh_engine):
    with pytest.raises(GenerateError, match="DIDs need users"):
        generate_dataset(fresh_engine, GeneratorOptions(users=0, dids=1), progress=False)
    with pytest.raises(GenerateError, match="at most 99,999 tenants"):
        generate_dataset(fresh_engine, GeneratorOptions(tenants=100_000), progress=False)
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM nodes")).scalar() == 0
