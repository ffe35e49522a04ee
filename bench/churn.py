"""Writers that change the configuration while the benchmark loads xmlcurl, as staff and scripts do all day."""
from __future__ import annotations

import random
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, text


def _other_tenants_users(conn, served: set[int], rng: random.Random) -> list[tuple[int, int]]:
    """(id, tenant id) of users whose tenant no fetch of the load asks about (a sample, at most 5,000)."""
    users = [(row.id, row.tenant_id) for row in conn.execute(text(
        "SELECT id, tenant_id FROM sip_users ORDER BY id LIMIT 200000")) if row.tenant_id not in served]
    return rng.sample(users, min(len(users), 5000))


@contextmanager
def churn(database_url: str, kind: str, served_tenants: set[int], per_second: float) -> Iterator[dict]:
    """Run a writer thread for the block: `tenants` updates a user of a tenant not in `served_tenants`,
    `users` any enabled user (drawn uniformly from all of them), `routes` a route for all tenants; each
    UPDATE commits on its own, `per_second` times a second.

    Yields a dict whose `writes` counts the committed changes and `tenants` holds the tenants changed.
    """
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    rng = random.Random(5)
    stats: dict = {"writes": 0, "tenants": set()}
    stop = threading.Event()
    with engine.connect() as conn:
        if kind == "tenants":
            targets = _other_tenants_users(conn, served_tenants, rng)
            statement = text("UPDATE sip_users SET cid_name = :value WHERE id = :id")
        elif kind == "users":
            targets = [tuple(row) for row in conn.execute(text("SELECT id, tenant_id FROM sip_users WHERE enabled = 1"))]
            statement = text("UPDATE sip_users SET cid_name = :value WHERE id = :id")
        elif kind == "routes":
            targets = [(route, None) for route in conn.scalars(text(
                "SELECT id FROM routes WHERE tenant_id IS NULL LIMIT 5000"))]
            statement = text("UPDATE routes SET weight = MOD(weight, 100) + 1 WHERE id = :id")
        else:
            raise ValueError(f"unknown churn {kind!r}")
    if not targets:
        raise SystemExit(f"churn {kind}: nothing to change in the data set")

    def write() -> None:
        interval = 1 / per_second
        due = time.monotonic()
        with engine.connect() as conn:
            while not stop.is_set():
                target, tenant = rng.choice(targets)
                values = {"id": target}
                if kind != "routes":
                    values["value"] = f"churn {stats['writes'] % 1000}"
                conn.execute(statement, values)
                stats["writes"] += 1
                if tenant is not None:
                    stats["tenants"].add(tenant)
                due += interval
                stop.wait(max(0.0, due - time.monotonic()))

    thread = threading.Thread(target=write, name=f"churn-{kind}", daemon=True)
    thread.start()
    try:
        yield stats
    finally:
        stop.set()
        thread.join(timeout=10)
        engine.dispose()
