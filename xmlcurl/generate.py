"""Synthetic clusters for benchmarks: nodes, tenants, users, gateways, routes and DIDs, in batches.

Rows are written with Core `insert()` executemany, one transaction per batch, and carry explicit
ids so that no row has to be read back. The same options and seed always give the same data.
"""
from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from sqlalchemy import Engine, Table, func, insert, select
from tqdm import tqdm

from .models import ApprovedCallerId, Did, Gateway, Node, Route, SipUser, Tenant, TenantNode
from .secrets import hash_node_secret, sip_a1_hash

# (country code, national prefix, international prefix) of the tenants' home countries.
COUNTRIES = (
    ("1", "1", "011"), ("44", "0", "00"), ("33", "0", "00"), ("49", "0", "00"), ("86", "0", "00"),
    ("91", "0", "00"), ("81", "0", "010"), ("61", "0", "0011"), ("55", "0", "00"), ("34", "", "00"),
    ("39", "", "00"), ("7", "8", "810"), ("52", "", "00"), ("27", "0", "00"), ("65", "", "000"),
)
#: Destination country codes routes are made of (a realistic spread of 1-3 digit codes).
ROUTE_COUNTRY_CODES = (
    "1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
    "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65",
    "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98", "212", "213", "216", "234",
    "254", "351", "352", "353", "354", "358", "359", "370", "371", "372", "380", "420", "421", "852",
    "853", "855", "880", "886", "960", "961", "962", "966", "971", "972", "974",
)
#: Priorities of a route's first, second and third gateway (failover order).
PRIORITIES = (10, 20, 30)


class GenerateError(ValueError):
    """The options cannot give a data set, or the database is not empty."""


class NotEmpty(GenerateError):
    """The database already holds nodes, tenants or gateways."""


@dataclass(frozen=True)
class GeneratorOptions:
    """How big the synthetic cluster is."""

    tenants: int = 1000
    users: int = 100_000
    routes: int = 20_000
    dids: int = 10_000
    routers: int = 4
    media: int = 40
    gateways: int = 50
    batch: int = 5000
    seed: int = 1

    def check(self) -> None:
        for name in ("tenants", "routers", "media", "gateways", "batch"):
            if getattr(self, name) < 1:
                raise GenerateError(f"{name} must be at least 1")
        for name in ("users", "routes", "dids"):
            if getattr(self, name) < 0:
                raise GenerateError(f"{name} must not be negative")
        if self.tenants > 99_999:
            raise GenerateError("at most 99,999 tenants (tenant codes have five digits)")
        if self.routers + self.media > 250 * 250:
            raise GenerateError("too many nodes for the 127.x address plan")
        if self.dids and self.users == 0:
            raise GenerateError("DIDs need users to point at")


# --- naming, shared with the benchmark (it derives request bodies from these) ----------------------

def tenant_code(index: int) -> str:
    return f"t{index:05d}"


def tenant_domain(index: int) -> str:
    return f"{tenant_code(index)}.example.net"


def username(index_in_tenant: int) -> str:
    return str(1000 + index_in_tenant)


def node_address(group: int, index: int) -> str:
    """A distinct loopback address per node: 127.<group>.<x>.<y>, never .0 or .255."""
    return f"127.{group}.{index // 250}.{index % 250 + 1}"


def users_per_tenant(options: GeneratorOptions) -> list[int]:
    """How many users each tenant gets: an even spread, the remainder to the first tenants."""
    base, extra = divmod(options.users, options.tenants)
    return [base + (1 if t < extra else 0) for t in range(options.tenants)]


# --- rows ------------------------------------------------------------------------------------

def _node_rows(options: GeneratorOptions) -> Iterator[dict[str, Any]]:
    for role, group, count in (("router", 1, options.routers), ("media", 2, options.media)):
        for i in range(count):
            name = f"{role}-{i + 1}"
            yield {
                "name": name, "role": role, "sip_address": node_address(group, i), "sip_port": 5060,
                "cluster_port": 5080, "http_username": name, "http_secret_hash": hash_node_secret(f"{name}-secret"),
                "enabled": True,
            }


def _tenant_rows(options: GeneratorOptions, rng: random.Random) -> Iterator[dict[str, Any]]:
    for t in range(options.tenants):
        code = tenant_code(t + 1)
        country, national, international = rng.choice(COUNTRIES)
        yield {
            "id": t + 1, "code": code, "name": f"Tenant {t + 1:05d}", "sip_domain": tenant_domain(t + 1),
            "context": f"tenant-{code}", "max_calls": rng.choice((50, 100, 200, 500, 1000)),
            "max_cps": rng.choice((5, 10, 20, 50)), "default_cid_number": f"{country}5{t + 1:09d}",
            "default_cid_name": f"Tenant {t + 1:05d}", "country_code": country, "national_prefix": national,
            "international_prefix": international, "enabled": True,
        }


def _pinning_rows(options: GeneratorOptions, rng: random.Random, first_media_id: int) -> Iterator[dict[str, Any]]:
    for t in range(options.tenants):
        chosen = rng.sample(range(options.media), 2 if options.media > 1 and rng.random() < 0.5 else 1)
        for node_index, weight in zip(chosen, (100, 50)):
            yield {"tenant_id": t + 1, "node_id": first_media_id + node_index, "weight": weight}


def _user_rows(options: GeneratorOptions, rng: random.Random, counts: list[int]) -> Iterator[dict[str, Any]]:
    user_id = 0
    for t, count in enumerate(counts):
        code, domain = tenant_code(t + 1), tenant_domain(t + 1)
        for i in range(count):
            user_id += 1
            name = username(i)
            robot = rng.random() < 0.7
            yield {
                "id": user_id, "tenant_id": t + 1, "username": name, "kind": "robot" if robot else "agent",
                "a1_hash": sip_a1_hash(name, domain, f"pw-{code}-{name}"),
                "cid_name": None if robot else f"Agent {name}", "cid_number": None, "enabled": True,
            }


def _gateway_rows(options: GeneratorOptions, rng: random.Random) -> Iterator[dict[str, Any]]:
    for g in range(options.gateways):
        address = node_address(3, g)
        register = rng.random() < 0.1
        yield {
            "id": g + 1, "name": f"carrier-{g + 1:03d}", "proxy": f"{address}:5060", "realm": address,
            "username": f"acct{g + 1}" if register else None,
            "password": f"pw-carrier-{g + 1}-{rng.randrange(10**8):08d}" if register else None,
            "register": register, "ping_seconds": rng.choice((None, 30, 60)),
            "strip_digits": 1 if rng.random() < 0.1 else 0, "prepend": rng.choice(("", "", "", "0", "00", "+")),
            "media_mode": "proxy" if rng.random() < 0.1 else "bypass", "source_cidrs": f"{address}/32",
            "enabled": True,
        }


def _route_prefix(rng: random.Random) -> str:
    """A country code, often with 1-4 more digits (a mobile range, a city)."""
    code = rng.choice(ROUTE_COUNTRY_CODES)
    extra = rng.choice((0, 0, 1, 1, 2, 3, 4))
    return code + "".join(rng.choice("0123456789") for _ in range(extra))


def _route_rows(options: GeneratorOptions, rng: random.Random) -> Iterator[dict[str, Any]]:
    """Routes in groups of 1-3 gateways per (scope, prefix); a global default route comes first."""
    seen: set[tuple[int, str, int]] = set()
    made = 0
    attempts = 0
    limit = options.routes * 20 + 100
    first = True
    while made < options.routes:
        attempts += 1
        if attempts > limit:
            raise GenerateError(f"could not make {options.routes} distinct routes with {options.gateways} gateways")
        if first:
            tenant_id, prefix, first = None, "", False
        else:
            tenant_id = None if rng.random() < 0.3 else rng.randint(1, options.tenants)
            prefix = _route_prefix(rng)
        gateways = rng.sample(range(1, options.gateways + 1), min(options.gateways, rng.randint(1, 3)))
        # Sometimes two gateways share a priority, so their weights split the load.
        shared = len(gateways) > 1 and rng.random() < 0.3
        for position, gateway_id in enumerate(gateways):
            key = (tenant_id or 0, prefix, gateway_id)
            if key in seen or made >= options.routes:
                continue
            seen.add(key)
            made += 1
            priority = PRIORITIES[0] if shared and position < 2 else PRIORITIES[position]
            yield {"tenant_id": tenant_id, "prefix": prefix, "gateway_id": gateway_id, "priority": priority,
                   "weight": rng.choice((100, 100, 50, 200)), "enabled": True}


def _did_rows(options: GeneratorOptions, rng: random.Random, counts: list[int]) -> Iterator[dict[str, Any]]:
    """Numbers unique by construction (country code + '5' + a 9-digit serial), each to a user of its tenant."""
    first_user_id = [0] * len(counts)
    total = 0
    for t, count in enumerate(counts):
        first_user_id[t] = total + 1
        total += count
    populated = [t for t, count in enumerate(counts) if count]
    for d in range(options.dids):
        t = rng.choice(populated)
        country = ROUTE_COUNTRY_CODES[d % len(ROUTE_COUNTRY_CODES)]
        yield {"number": f"{country}5{d + 1:09d}", "tenant_id": t + 1,
               "user_id": first_user_id[t] + rng.randrange(counts[t]), "enabled": True}


# --- writing ---------------------------------------------------------------------------------

def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write(engine: Engine, table: Table, rows: Iterable[dict[str, Any]], total: int, batch: int,
           progress: bool) -> int:
    """Insert rows in batches, one transaction each; returns the number written."""
    written = 0
    with tqdm(total=total, desc=table.name, unit="rows", file=sys.stderr, disable=not progress,
              dynamic_ncols=True) as bar:
        for chunk in _batches(rows, batch):
            with engine.begin() as conn:
                conn.execute(insert(table), chunk)
            written += len(chunk)
            bar.update(len(chunk))
    return written


def _check_empty(engine: Engine) -> None:
    with engine.connect() as conn:
        for model in (Node, Tenant, Gateway):
            if conn.scalar(select(func.count()).select_from(model.__table__)):
                raise NotEmpty(f"table {model.__tablename__} is not empty: generate needs an empty schema "
                                    "(use --reset to recreate the tables)")


def generate_dataset(engine: Engine, options: GeneratorOptions, progress: bool = True) -> dict[str, int]:
    """Write a synthetic cluster into an empty schema; returns rows written per table."""
    options.check()
    _check_empty(engine)
    # One generator per table, each seeded from the main seed: a table's rows do not depend on
    # how many rows the tables before it had.
    seeds = random.Random(options.seed)
    rngs = {name: random.Random(seeds.getrandbits(64))
            for name in ("tenants", "pinning", "users", "gateways", "routes", "dids")}
    counts = users_per_tenant(options)
    summary: dict[str, int] = {}
    node_rows = list(_node_rows(options))
    for index, row in enumerate(node_rows):
        row["id"] = index + 1
    pinning_rows = list(_pinning_rows(options, rngs["pinning"], options.routers + 1))
    tenant_rows = list(_tenant_rows(options, rngs["tenants"]))
    # Each tenant may present its default caller ID number (otherwise answers would leave it out).
    approval_rows = [{"tenant_id": row["id"], "number": row["default_cid_number"], "note": "generated"}
                     for row in tenant_rows]
    plan: list[tuple[str, Table, Iterable[dict[str, Any]], int]] = [
        ("nodes", Node.__table__, node_rows, len(node_rows)),
        ("tenants", Tenant.__table__, tenant_rows, options.tenants),
        ("tenant_nodes", TenantNode.__table__, pinning_rows, len(pinning_rows)),
        ("sip_users", SipUser.__table__, _user_rows(options, rngs["users"], counts), options.users),
        ("gateways", Gateway.__table__, _gateway_rows(options, rngs["gateways"]), options.gateways),
        ("routes", Route.__table__, _route_rows(options, rngs["routes"]), options.routes),
        ("dids", Did.__table__, _did_rows(options, rngs["dids"], counts), options.dids),
        ("approved_caller_ids", ApprovedCallerId.__table__, approval_rows, len(approval_rows)),
    ]
    for name, table, rows, total in plan:
        summary[name] = _write(engine, table, rows, total, options.batch, progress)
    return summary
