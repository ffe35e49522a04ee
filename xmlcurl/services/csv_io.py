"""CSV bulk import (all rows or none, with a report of rejected rows) and export of SIP users, DIDs and routes.

Every row is validated with the resource's schema, lookups are loaded once per file, and the rows
go in with bulk inserts, so 10,000 users take seconds. Call `import_csv(session, actor, kind, text)`;
when `report.applied` the caller commits, otherwise it rolls back (nothing was written).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from marshmallow import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from .. import secrets
from ..fetch.callerids import approved_numbers
from ..models import Did, Gateway, Route, SipUser, Tenant
from ..schemas import DidSchema, RouteSchema, SipUserSchema
from . import audit, caller_ids, dids, sip_users
from .actor import Actor, require_superadmin
from .common import jsonable, snapshot
from .errors import Invalid

MAX_ROWS = 100_000
CHUNK = 1000
KINDS = ("sip_users", "dids", "routes")

USER_COLUMNS = ("tenant", "username", "password", "kind", "cid_name", "cid_number", "outbound_cid_name",
                "outbound_cid_number", "enabled")
DID_COLUMNS = ("number", "tenant", "username", "enabled")
ROUTE_COLUMNS = ("tenant", "prefix", "gateway", "priority", "weight", "enabled")
COLUMNS = {"sip_users": USER_COLUMNS, "dids": DID_COLUMNS, "routes": ROUTE_COLUMNS}
REQUIRED = {"sip_users": ("username", "password"), "dids": ("number",), "routes": ("gateway",)}


@dataclass
class ImportReport:
    """What an import did: rows read, rows created, and each rejected row's line and reasons."""

    entity: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    #: Each row's cells by line, so a rejected row is shown with what it held (the password masked).
    cells: dict[int, dict[str, str]] = field(default_factory=dict, repr=False)

    @property
    def applied(self) -> bool:
        return not self.rejected and self.created + self.updated == self.rows

    def reject(self, line: int, errors: Mapping[str, Any]) -> None:
        entry: dict[str, Any] = {"line": line, "errors": dict(errors)}
        cells = self.cells.get(line)
        if cells is not None and "__extra__" not in cells:
            entry["values"] = {k: (audit.MASK if k == "password" and v else v) for k, v in cells.items()}
        self.rejected.append(entry)

    def as_dict(self) -> dict[str, Any]:
        return {"entity": self.entity, "rows": self.rows, "created": self.created, "updated": self.updated,
                "applied": self.applied,
                "rejected": self.rejected}


def delimiter(text: str) -> str:
    """',' or, for a file whose header line has no comma but semicolons (spreadsheets in many locales
    save CSV so) or tabs, that separator."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    if "," in header:
        return ","
    for candidate in (";", "\t"):
        if candidate in header:
            return candidate
    return ","


def _rows(text: str, kind: str, actor: Actor) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs; a bad header, an oversized file or text csv cannot read refuses the whole file."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter(text))
    try:
        return _read_rows(reader, kind, actor)
    except csv.Error as exc:  # e.g. a cell longer than csv.field_size_limit() (131072 characters)
        line = reader.reader.line_num  # the DictReader's own count is set only once a row is read
        raise Invalid(f"line {line} cannot be read as CSV: {exc}", {"file": [f"line {line}: {exc}"]}) from None


def _read_rows(reader: csv.DictReader, kind: str, actor: Actor) -> list[tuple[int, dict[str, str]]]:
    header = [name.strip() for name in (reader.fieldnames or [])]
    if not header:
        raise Invalid("the file is empty", {"file": ["no header line"]})
    reader.fieldnames = header
    unknown = [name for name in header if name not in COLUMNS[kind]]
    needed = list(REQUIRED[kind]) + (["tenant"] if kind != "routes" and actor.is_superadmin else [])
    missing = [name for name in needed if name not in header]
    if unknown or missing:
        errors: dict[str, list[str]] = {}
        if unknown:
            hint = "; separate the columns with commas" if any(";" in name or "\t" in name for name in unknown) else ""
            errors["header"] = [f"unknown columns: {', '.join(unknown)}; known: {', '.join(COLUMNS[kind])}{hint}"]
        if missing:
            errors.setdefault("header", []).append(f"missing columns: {', '.join(missing)}")
        raise Invalid("the header line is not valid", errors)
    rows = []
    for row in reader:
        if len(rows) >= MAX_ROWS:
            raise Invalid(f"too many rows (at most {MAX_ROWS} per file)", {"file": [f"at most {MAX_ROWS} rows"]})
        if None in row:
            rows.append((reader.line_num, {"__extra__": "x"}))
            continue
        # Passwords are taken as written; other cells lose surrounding spaces.
        cells = {k: (v or "") if k == "password" else (v or "").strip() for k, v in row.items()}
        if any(cells.values()):
            rows.append((reader.line_num, cells))
    return rows


def _tenants_by_code(session: Session, actor: Actor, codes: Iterable[str]) -> dict[str, Tenant]:
    """The tenants named in the file that the actor may write to."""
    wanted = sorted({code for code in codes if code})
    found: dict[str, Tenant] = {}
    for start in range(0, len(wanted), CHUNK):
        for tenant in session.scalars(select(Tenant).where(Tenant.code.in_(wanted[start:start + CHUNK]))):
            if actor.can_see_tenant(tenant.id):
                found[tenant.code] = tenant
    return found


def _own_tenant(session: Session, actor: Actor) -> Tenant | None:
    return None if actor.is_superadmin else session.get(Tenant, actor.tenant_id)


def _messages(exc: ValidationError) -> dict[str, Any]:
    return exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}


def _payload(cells: Mapping[str, str], skip: Sequence[str]) -> dict[str, str]:
    """Non-empty cells only: an empty cell means the field's default."""
    return {k: v for k, v in cells.items() if v != "" and k not in skip}


def _bulk_audit(session: Session, actor: Actor, entity: str, items: list[tuple[Any, int | None, Mapping[str, Any]]]) -> None:
    audit.add_rows(session, audit.rows(actor, "create", entity, items))


def _bulk_insert(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK * 5):
        session.execute(insert(model), rows[start:start + CHUNK * 5])


# --- SIP users ---------------------------------------------------------------------------------

def import_sip_users(session: Session, actor: Actor, text: str, update_existing: bool = False) -> ImportReport:
    """Create users from CSV (tenant, username, password, kind, caller IDs, enabled).

    With update_existing, a row naming an existing user sets its password and the non-empty cells
    instead (e.g. new passwords for every user after a SIP domain change; enabled=true re-enables).
    """
    rows = _rows(text, "sip_users", actor)
    report = ImportReport("sip_users", rows=len(rows), cells=dict(rows))
    schema = SipUserSchema()
    own = _own_tenant(session, actor)
    tenants = _tenants_by_code(session, actor, (cells.get("tenant", "") for _, cells in rows))
    existing = _user_ids(session, _named_users(rows, tenants, own))
    seen: dict[tuple[int, str], int] = {}
    new: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    approved: dict[int, frozenset[str]] = {}
    for line, cells in rows:
        if "__extra__" in cells:
            report.reject(line, {"row": ["more cells than columns"]})
            continue
        errors: dict[str, Any] = {}
        code = cells.get("tenant", "")
        tenant = tenants.get(code) if code else own
        if tenant is None:
            errors["tenant"] = ["no such tenant" if code else "required"]
        try:
            data = schema.load(_payload(cells, ("tenant",)))
        except ValidationError as exc:
            errors.update(_messages(exc))
            data = None
        if data is not None and tenant is not None:
            if tenant.id not in approved:
                approved[tenant.id] = approved_numbers(session, tenant.id)
            errors.update(caller_ids.presentable_errors(
                approved[tenant.id], {name: data.get(name) for name in sip_users.CALLER_NUMBERS}))
            key = (tenant.id, data["username"])
            if key in existing and not update_existing:
                errors["username"] = ["the tenant already has a user with this username"]
            elif key in seen:
                errors["username"] = [f"repeats line {seen[key]}"]
            seen.setdefault(key, line)
        if errors:
            report.reject(line, errors)
            continue
        assert data is not None and tenant is not None
        if (tenant.id, data["username"]) in existing:
            change = {k: v for k, v in data.items() if k in UPDATABLE}
            change["id"] = existing[(tenant.id, data["username"])]
            change["a1_hash"] = secrets.sip_a1_hash(data["username"], tenant.sip_domain, data["password"])
            changes.append(change)
            continue
        new.append({
            "tenant_id": tenant.id, "username": data["username"], "kind": data.get("kind", "agent"),
            "a1_hash": secrets.sip_a1_hash(data["username"], tenant.sip_domain, data["password"]),
            "cid_name": data.get("cid_name"), "cid_number": data.get("cid_number"),
            "outbound_cid_name": data.get("outbound_cid_name"), "outbound_cid_number": data.get("outbound_cid_number"),
            "enabled": data.get("enabled", True),
        })
    if report.rejected:
        return report
    _update_users(session, actor, changes)
    report.updated = len(changes)
    _bulk_insert(session, SipUser, new)
    ids = _user_ids(session, [(row["tenant_id"], row["username"]) for row in new])
    _bulk_audit(session, actor, "sip_user", [
        (ids[(row["tenant_id"], row["username"])], row["tenant_id"], {**row, "id": ids[(row["tenant_id"], row["username"])]})
        for row in new
    ])
    report.created = len(new)
    return report


UPDATABLE = ("kind", "cid_name", "cid_number", "outbound_cid_name", "outbound_cid_number", "enabled")


def _update_users(session: Session, actor: Actor, changes: list[dict[str, Any]]) -> None:
    """Bulk update by primary key, audited with each user's state before and after."""
    if not changes:
        return
    table = SipUser.__table__
    before: dict[int, dict[str, Any]] = {}
    ids = [change["id"] for change in changes]
    for start in range(0, len(ids), CHUNK):
        for row in session.execute(select(*table.c).where(table.c.id.in_(ids[start:start + CHUNK]))).mappings():
            before[row["id"]] = {key: jsonable(value) for key, value in row.items()}
    for start in range(0, len(changes), CHUNK * 5):
        session.execute(update(SipUser), changes[start:start + CHUNK * 5])
    entries = audit.rows(actor, "update", "sip_user", [
        (change["id"], before[change["id"]]["tenant_id"], {**before[change["id"]], **change}) for change in changes])
    for entry, change in zip(entries, changes):
        entry["before_json"] = audit.dumps(before[change["id"]])
    audit.add_rows(session, entries)


def _user_ids(session: Session, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """User ids by (tenant_id, username), looked up in chunks."""
    by_tenant: dict[int, list[str]] = {}
    for tenant_id, username in keys:
        by_tenant.setdefault(tenant_id, []).append(username)
    found: dict[tuple[int, str], int] = {}
    for tenant_id, names in by_tenant.items():
        for start in range(0, len(names), CHUNK):
            for user_id, username in session.execute(select(SipUser.id, SipUser.username).where(
                    SipUser.tenant_id == tenant_id, SipUser.username.in_(names[start:start + CHUNK]))).tuples():
                found[(tenant_id, username)] = user_id
    return found


def _named_users(rows, tenants, own) -> list[tuple[int, str]]:
    """(tenant id, username) of every row naming a user of a known tenant (its own tenant if blank)."""
    keys = []
    for _, cells in rows:
        tenant = tenants.get(cells.get("tenant", "")) if cells.get("tenant") else own
        if tenant is not None and cells.get("username"):
            keys.append((tenant.id, cells["username"]))
    return keys


# --- DIDs ----------------------------------------------------------------------------------------

def import_dids(session: Session, actor: Actor, text: str) -> ImportReport:
    """DIDs from CSV (number, tenant, username of the user it rings, enabled).

    A superadmin assigns numbers to tenants: each row creates a DID (ringing its username, or nobody
    when empty), and a number cell 'first-last' with no username assigns a whole range. A tenant
    admin sets the user (empty: nobody) and enabled of DIDs already in its tenant's stock; a number
    outside it is refused the same way whether or not another tenant holds it.
    """
    if not actor.is_superadmin:
        return _update_own_dids(session, actor, text)
    rows = _rows(text, "dids", actor)
    report = ImportReport("dids", rows=len(rows), cells=dict(rows))
    schema = DidSchema()
    tenants = _tenants_by_code(session, actor, (cells.get("tenant", "") for _, cells in rows))
    users = _user_ids(session, _named_users(rows, tenants, None))
    expanded: list[tuple[int, dict[str, str], list[str]]] = []
    for line, cells in rows:
        number = cells.get("number", "")
        if "-" in number and "__extra__" not in cells:
            first, _, last = number.partition("-")
            try:
                numbers = dids.range_numbers(first.strip(), last.strip())
            except Invalid as exc:
                report.reject(line, {"number": [exc.message]})
                continue
            if cells.get("username"):
                report.reject(line, {"username": ["a range is assigned ringing nobody: leave username empty"]})
                continue
            expanded.append((line, cells, numbers))
        else:
            expanded.append((line, cells, [number]))
    wanted = sorted({n for _, _, numbers in expanded for n in numbers} - {""})
    taken = set(dids.taken_numbers(session, wanted))
    seen: dict[str, int] = {}
    new: list[dict[str, Any]] = []
    for line, cells, numbers in expanded:
        if "__extra__" in cells:
            report.reject(line, {"row": ["more cells than columns"]})
            continue
        errors: dict[str, Any] = {}
        code = cells.get("tenant", "")
        tenant = tenants.get(code) if code else None
        if tenant is None:
            errors["tenant"] = ["no such tenant" if code else "required"]
        user_id = None
        if tenant is not None and cells.get("username"):
            user_id = users.get((tenant.id, cells["username"]))
            if user_id is None:
                errors["username"] = ["no such user in this tenant"]
        payload = _payload(cells, ("tenant", "username"))
        for number in numbers:
            try:
                data = schema.load({**payload, "number": number})
            except ValidationError as exc:
                errors.update(_messages(exc))
                break
            problems = errors.setdefault("number", [])
            if number in taken and len(problems) < 10:
                problems.append(f"{number} is already a DID")
            elif number in seen and len(problems) < 10:
                problems.append(f"{number} repeats line {seen[number]}")
            if not problems:
                del errors["number"]
            seen.setdefault(number, line)
            if tenant is not None:
                new.append({"number": number, "tenant_id": tenant.id, "user_id": user_id,
                            "enabled": data.get("enabled", True)})
        if errors:
            report.reject(line, errors)
    if report.rejected:
        return report
    # A range line stands for each of its numbers.
    report.rows = len(new)
    _bulk_insert(session, Did, new)
    ids: dict[str, int] = {}
    numbers = [row["number"] for row in new]
    for start in range(0, len(numbers), CHUNK):
        ids.update(list(session.execute(select(Did.number, Did.id).where(Did.number.in_(numbers[start:start + CHUNK]))).tuples()))
    _bulk_audit(session, actor, "did", [(ids[row["number"]], row["tenant_id"], {**row, "id": ids[row["number"]]}) for row in new])
    report.created = len(new)
    return report


NOT_IN_STOCK = "not one of this tenant's DIDs (the operator assigns numbers to tenants)"


def _update_own_dids(session: Session, actor: Actor, text: str) -> ImportReport:
    """A tenant admin's DID file: the user (or nobody) and enabled of DIDs in its own tenant's stock."""
    rows = _rows(text, "dids", actor)
    report = ImportReport("dids", rows=len(rows), cells=dict(rows))
    own = _own_tenant(session, actor)
    tenants = _tenants_by_code(session, actor, (cells.get("tenant", "") for _, cells in rows))
    users = _user_ids(session, _named_users(rows, tenants, own))
    numbers = sorted({cells.get("number", "") for _, cells in rows} - {""})
    stock: dict[str, Did] = {}
    for start in range(0, len(numbers), CHUNK):
        for did in session.scalars(select(Did).where(Did.tenant_id == actor.tenant_id,
                                                     Did.number.in_(numbers[start:start + CHUNK]))):
            stock[did.number] = did
    schema = DidSchema()
    seen: dict[str, int] = {}
    changes: list[tuple[Did, dict[str, Any]]] = []
    for line, cells in rows:
        if "__extra__" in cells:
            report.reject(line, {"row": ["more cells than columns"]})
            continue
        errors: dict[str, Any] = {}
        code = cells.get("tenant", "")
        if code and code not in tenants:
            errors["tenant"] = ["no such tenant"]
        user_id = None
        if cells.get("username"):
            user_id = users.get((actor.tenant_id, cells["username"]))
            if user_id is None:
                errors["username"] = ["no such user in this tenant"]
        try:
            data = schema.load(_payload(cells, ("tenant", "username")))
        except ValidationError as exc:
            errors.update(_messages(exc))
            data = None
        if data is not None:
            if data["number"] not in stock:
                errors["number"] = [NOT_IN_STOCK]
            elif data["number"] in seen:
                errors["number"] = [f"repeats line {seen[data['number']]}"]
            seen.setdefault(data["number"], line)
        if errors:
            report.reject(line, errors)
            continue
        assert data is not None
        changes.append((stock[data["number"]], {"user_id": user_id, "enabled": data.get("enabled", True)}))
    if report.rejected:
        return report
    for did, change in changes:
        before = snapshot(did)
        did.user_id, did.enabled = change["user_id"], change["enabled"]
        audit.record(session, actor, "update", "did", did.id, tenant_id=did.tenant_id, before=before,
                     after={**before, **change})
    session.flush()
    report.updated = len(changes)
    return report


# --- routes --------------------------------------------------------------------------------------

def import_routes(session: Session, actor: Actor, text: str) -> ImportReport:
    """Create routes from CSV (tenant code or empty for all tenants, prefix, gateway name, priority, weight, enabled)."""
    require_superadmin(actor, "route")
    rows = _rows(text, "routes", actor)
    report = ImportReport("routes", rows=len(rows), cells=dict(rows))
    schema = RouteSchema()
    tenants = _tenants_by_code(session, actor, (cells.get("tenant", "") for _, cells in rows))
    gateways = {gw.name: gw.id for gw in session.scalars(select(Gateway))}
    existing = set(session.execute(select(Route.tenant_id, Route.prefix, Route.gateway_id)).tuples())
    seen: dict[tuple[Any, ...], int] = {}
    new: list[dict[str, Any]] = []
    for line, cells in rows:
        if "__extra__" in cells:
            report.reject(line, {"row": ["more cells than columns"]})
            continue
        errors: dict[str, Any] = {}
        code = cells.get("tenant", "")
        tenant_id = None
        if code:
            tenant = tenants.get(code)
            if tenant is None:
                errors["tenant"] = ["no such tenant"]
            else:
                tenant_id = tenant.id
        gateway_id = gateways.get(cells.get("gateway", ""))
        if gateway_id is None:
            errors["gateway"] = ["no such gateway"]
        payload = _payload(cells, ("tenant", "gateway"))
        payload["gateway_id"] = gateway_id or 0
        try:
            data = schema.load(payload)
        except ValidationError as exc:
            errors.update(_messages(exc))
            data = None
        if data is not None and not errors:
            key = (tenant_id, data.get("prefix", ""), gateway_id)
            if key in existing:
                errors["prefix"] = ["this tenant already has a route for this prefix through this gateway"]
            elif key in seen:
                errors["prefix"] = [f"repeats line {seen[key]}"]
            seen.setdefault(key, line)
        if errors:
            report.reject(line, errors)
            continue
        assert data is not None
        new.append({"tenant_id": tenant_id, "prefix": data.get("prefix", ""), "gateway_id": gateway_id,
                    "priority": data.get("priority", 10), "weight": data.get("weight", 100),
                    "enabled": data.get("enabled", True)})
    if report.rejected:
        return report
    # Few rows per file in practice: inserted through the ORM so each audit entry has its id.
    created = [Route(**row) for row in new]
    session.add_all(created)
    session.flush()
    _bulk_audit(session, actor, "route", [(route.id, route.tenant_id, {**row, "id": route.id})
                                          for route, row in zip(created, new)])
    report.created = len(new)
    return report


IMPORTERS: dict[str, Callable[[Session, Actor, str], ImportReport]] = {
    "sip_users": import_sip_users, "dids": import_dids, "routes": import_routes,
}


def import_csv(session: Session, actor: Actor, kind: str, text: str, update_existing: bool = False) -> ImportReport:
    """Import one file of `kind` (sip_users, dids or routes): every row or none.

    update_existing applies to SIP users only (existing users get new passwords and fields).
    The whole import is one audit entry listing its rows by name.
    """
    if update_existing and kind != "sip_users":
        raise Invalid("only SIP user imports can update existing rows", {"existing": ["only for SIP users"]})
    with audit.batch(session, actor, "import", kind.rstrip("s")):
        if kind == "sip_users":
            return import_sip_users(session, actor, text, update_existing)
        return IMPORTERS[kind](session, actor, text)


def template(kind: str) -> str:
    """A CSV to fill in: the import's header and one example row (the fields' meaning is in the README)."""
    examples = {
        "sip_users": ("acme", "1000", "a-long-password", "agent", "Alice", "", "", "", "true"),
        "dids": ("8610000001", "acme", "1000", "true"),
        "routes": ("", "86", "carrier-a", "10", "100", "true"),
    }
    return "".join(_csv_lines(COLUMNS[kind], [examples[kind]]))


# --- export --------------------------------------------------------------------------------------

def _csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else ("true" if value is True else "false" if value is False else value)
                         for value in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _scoped(stmt, column, actor: Actor, tenant_id: int | None):
    if not actor.is_superadmin:
        return stmt.where(column == actor.tenant_id)
    return stmt if tenant_id is None else stmt.where(column == tenant_id)


def export_csv(session: Session, actor: Actor, kind: str, tenant_id: int | None = None) -> Iterator[str]:
    """CSV text in chunks: the import's columns (users without passwords: only their hash is kept)."""
    if kind == "sip_users":
        stmt = _scoped(select(Tenant.code, SipUser.username, SipUser.kind, SipUser.cid_name, SipUser.cid_number,
                              SipUser.outbound_cid_name, SipUser.outbound_cid_number, SipUser.enabled)
                       .join(Tenant, Tenant.id == SipUser.tenant_id), SipUser.tenant_id, actor, tenant_id)
        header = [c for c in USER_COLUMNS if c != "password"]
        order = (Tenant.code, SipUser.username)
    elif kind == "dids":
        stmt = _scoped(select(Did.number, Tenant.code, SipUser.username, Did.enabled)
                       .join(Tenant, Tenant.id == Did.tenant_id).outerjoin(SipUser, SipUser.id == Did.user_id),
                       Did.tenant_id, actor, tenant_id)
        header = list(DID_COLUMNS)
        order = (Did.number,)
    elif kind == "routes":
        require_superadmin(actor, "route")
        stmt = select(Tenant.code, Route.prefix, Gateway.name, Route.priority, Route.weight, Route.enabled) \
            .outerjoin(Tenant, Tenant.id == Route.tenant_id).join(Gateway, Gateway.id == Route.gateway_id)
        if tenant_id is not None:
            stmt = stmt.where(Route.tenant_id == tenant_id)
        header = list(ROUTE_COLUMNS)
        order = (Route.tenant_id, Route.prefix, Route.priority, Route.id)
    else:
        raise Invalid("unknown export", {"kind": [f"one of {', '.join(KINDS)}"]})
    # Buffered, not server-side streamed: a streaming cursor would hold the request's connection.
    rows = session.execute(stmt.order_by(*order)).tuples()
    return _csv_lines(header, rows)
