"""The benchmark's data: a generated cluster in MariaDB, and request bodies sampled from it."""
from __future__ import annotations

import base64
import random
import re
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, func, inspect, make_url, select, text

from xmlcurl import db
from xmlcurl.generate import GeneratorOptions, generate_dataset
from xmlcurl.models import Base, Node, Route, SipUser, Tenant, TenantNode

from .bodies import CAPTURES, captured, derive


@dataclass(frozen=True)
class Request:
    """One prepared fetch: the body and the node's Basic credentials."""

    body: bytes
    authorization: str
    #: The tenant the fetch is about (0: none), so a writer can change only other tenants' rows.
    tenant_id: int = 0


@dataclass(frozen=True)
class Spread:
    """Many fetches as one body template and rows of the values that fill its QQ<n>QQ marks."""

    template: bytes
    rows: list[tuple[str, ...]]
    authorizations: list[str]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        """The fetches at `index` (an int or a slice) as Requests, for checking answers before the load."""
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self.rows)))]
        body = self.template.decode("utf-8")
        for n, value in enumerate(self.rows[index], start=1):
            body = body.replace(f"QQ{n}QQ", value)
        return Request(body.encode("utf-8"), self.authorizations[index])


#: The demo names a spread body's template leaves open, in the order of a row's values.
SPREAD_FIELDS = ("domain", "context", "tenant", "user", "media", "media_address")


def _authorization(node: str) -> str:
    return "Basic " + base64.b64encode(f"{node}:{node}-secret".encode()).decode()


def _schema_triggers() -> dict[str, str]:
    """schema.sql's triggers: name -> body (after FOR EACH ROW), whitespace folded."""
    triggers = {}
    for statement in db.schema_statements(db.SCHEMA_SQL.read_text(encoding="utf-8")):
        found = re.match(r"CREATE TRIGGER (\w+) .*? FOR EACH ROW(?: FOLLOWS \w+)?\s+(.*)", statement, re.S)
        if found:
            triggers[found.group(1)] = " ".join(found.group(2).split())
    return triggers


def _reusable(engine: Engine, options: GeneratorOptions) -> bool:
    """Whether the database has the current schema (every model column, schema.sql's triggers as they are
    now: they decide what a change supersedes) and this many users."""
    try:
        found = inspect(engine)
        for table in Base.metadata.sorted_tables:
            if {c.name for c in table.columns} - {c["name"] for c in found.get_columns(table.name)}:
                return False
        with engine.connect() as conn:
            triggers = {name: " ".join(body.split()) for name, body in conn.execute(text(
                "SELECT trigger_name, action_statement FROM information_schema.triggers "
                "WHERE trigger_schema = DATABASE()"))}
            if triggers != _schema_triggers():
                return False
            return conn.scalar(select(func.count()).select_from(SipUser)) == options.users
    except Exception:  # noqa: BLE001 - no database or no schema: build it
        return False


def prepare_database(url: str, options: GeneratorOptions, reuse: bool) -> Engine:
    """(Re)create the database and fill it, unless `reuse` and it already holds this many users."""
    parsed = make_url(url)
    server = create_engine(parsed.set(database=""))
    engine = db.make_engine(url, {"DB_POOL_SIZE": 2, "DB_POOL_RECYCLE": 3600, "DB_CONNECT_TIMEOUT": 5,
                                  "DB_READ_TIMEOUT": 600})
    if reuse and _reusable(engine, options):
        server.dispose()
        return engine
    with server.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))
        conn.execute(text(f"CREATE DATABASE `{parsed.database}` CHARACTER SET utf8mb4"))
    server.dispose()
    engine.dispose()
    db.create_schema(engine)
    generate_dataset(engine, options, progress=True)
    return engine


def _number(rng: random.Random, prefixes: list[str]) -> str:
    """A 12-digit international number, usually under one of the routes' prefixes."""
    prefix = rng.choice(prefixes) if prefixes and rng.random() < 0.9 else rng.choice(("44", "49", "33", "1"))
    digits = "".join(rng.choice("0123456789") for _ in range(max(12 - len(prefix), 4)))
    return (prefix + digits).lstrip("0") or "4420000000"


def sample_requests(engine: Engine, cases: list[str], count: int, seed: int = 7) -> dict[str, list[Request]]:
    """`count` requests per case, with random users, numbers and nodes of the generated data."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        pins = conn.execute(select(TenantNode.tenant_id, Node.name, Node.sip_address)
                            .join(Node, Node.id == TenantNode.node_id)).all()
        tenants = {row.id: row for row in conn.execute(select(Tenant.id, Tenant.code, Tenant.sip_domain,
                                                              Tenant.context))}
        routers = list(conn.scalars(select(Node.name).where(Node.role == "router")))
        media = list(conn.scalars(select(Node.name).where(Node.role == "media")))
        max_user = conn.scalar(select(func.max(SipUser.id))) or 0
        user_ids = sorted({rng.randint(1, max_user) for _ in range(count)}) if max_user else []
        users = conn.execute(select(SipUser.tenant_id, SipUser.username).where(SipUser.id.in_(user_ids))).all()
        max_route = conn.scalar(select(func.max(Route.id))) or 0
        route_ids = sorted({rng.randint(1, max_route) for _ in range(min(count, 2000))}) if max_route else []
        prefixes = [p for p in conn.scalars(select(Route.prefix).where(Route.id.in_(route_ids))) if p]
    pinned: dict[int, list[tuple[str, str]]] = {}
    for tenant_id, name, address in pins:
        pinned.setdefault(tenant_id, []).append((name, address))
    out: dict[str, list[Request]] = {case: [] for case in cases}
    for index in range(count):
        tenant_id, username = users[index % len(users)]
        tenant = tenants[tenant_id]
        node, address = rng.choice(pinned[tenant_id])
        names = {"domain": tenant.sip_domain, "context": tenant.context, "tenant": tenant.code, "user": username,
                 "number": _number(rng, prefixes), "media": node, "media_address": address}
        router = rng.choice(routers)
        for case in cases:
            if case == "directory sip_auth" or case == "media dialplan":
                out[case].append(Request(derive(captured(CAPTURES[case]), **names), _authorization(node), tenant_id))
            elif case == "router dialplan":
                out[case].append(Request(derive(captured(CAPTURES[case]), router=router, **names),
                                         _authorization(router), tenant_id))
            elif case == "sofia.conf":
                name = rng.choice(media)
                out[case].append(Request(derive(captured(CAPTURES[case]), media=name), _authorization(name)))
            elif case == "acl.conf":
                name = rng.choice(routers + media)
                body = derive(captured(CAPTURES[case]), router=name)
                out[case].append(Request(body, _authorization(name)))
    return out


def spread_requests(engine: Engine, count: int, seed: int = 11) -> Spread:
    """`count` directory sip_auth fetches for users drawn uniformly from every user of the data set."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        max_user = conn.scalar(select(func.max(SipUser.id))) or 0
        ids = sorted({rng.randint(1, max_user) for _ in range(count)})
        pins: dict[int, list[tuple[str, str]]] = {}
        for tenant_id, name, address in conn.execute(select(TenantNode.tenant_id, Node.name, Node.sip_address)
                                                     .join(Node, Node.id == TenantNode.node_id)):
            pins.setdefault(tenant_id, []).append((name, address))
        rows, auths = [], []
        for start in range(0, len(ids), 10_000):
            chunk = ids[start:start + 10_000]
            for user in conn.execute(select(SipUser.username, Tenant.id, Tenant.sip_domain, Tenant.context,
                                            Tenant.code).join(Tenant, Tenant.id == SipUser.tenant_id)
                                     .where(SipUser.id.in_(chunk))):
                node, address = rng.choice(pins[user.id])
                rows.append((user.sip_domain, user.context, user.code, user.username, node, address))
                auths.append(_authorization(node))
    order = list(range(len(rows)))
    rng.shuffle(order)
    template = derive(captured(CAPTURES["directory sip_auth"]),
                      **{name: f"QQ{n}QQ" for n, name in enumerate(SPREAD_FIELDS, start=1)})
    return Spread(template, [rows[i] for i in order], [auths[i] for i in order])


def prepare_dataset_from_arguments(args) -> tuple[GeneratorOptions, Engine]:
    """Build (or reuse) the data set the options (add_dataset_arguments) name, filling in `args.database_url`
    when none was given; its GeneratorOptions and an engine on it."""
    options = GeneratorOptions(tenants=args.tenants, users=args.users, routes=args.routes, dids=args.dids,
                               routers=args.routers, media=args.media, gateways=args.gateways)
    if not args.database_url:
        args.database_url = f"mysql+pymysql://root@127.0.0.1:3306/{args.default_database}_{args.users}"
    print(f"data set: {options} in {args.database_url}", flush=True)
    return options, prepare_database(args.database_url, options, reuse=args.reuse)


def prepare_from_arguments(args, cases: list[str]) -> tuple:
    """Build (or reuse) the data set the options name; its GeneratorOptions and `args.bodies` requests per case."""
    options, engine = prepare_dataset_from_arguments(args)
    try:
        return options, sample_requests(engine, cases, args.bodies)
    finally:
        engine.dispose()
