"""What every resource service shares: input loading, listing with paging, snapshots, flushing."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Mapping, Sequence, TypeVar

from marshmallow import Schema, ValidationError
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..limits import MAX_INT, parse_id
from .errors import Invalid, NotFound, conflict_from_integrity, is_constraint_violation

T = TypeVar("T")

MAX_PER_PAGE = 500
RESERVED_ARGS = ("page", "per_page", "sort")


@dataclass(frozen=True)
class ListParams:
    """Paging, sorting ('name' or '-name') and filters (name -> text) of a list request."""

    page: int = 1
    per_page: int = 50
    sort: str | None = None
    filters: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "ListParams":
        """Read a query string (request.args); bad numbers become an Invalid with field messages."""
        errors: dict[str, list[str]] = {}
        numbers = {}
        for name, default, high in (("page", 1, 10**9), ("per_page", 50, MAX_PER_PAGE)):
            raw = args.get(name)
            value = default if raw in (None, "") else parse_id(raw.strip())
            if value is None:
                errors[name] = ["must be a whole number"]
                continue
            if not 1 <= value <= high:
                errors[name] = [f"must be between 1 and {high}"]
            numbers[name] = value
        if errors:
            raise Invalid("bad paging parameters", errors)
        filters = {k: v for k, v in args.items() if k not in RESERVED_ARGS and v != ""}
        return cls(page=numbers["page"], per_page=numbers["per_page"], sort=args.get("sort") or None, filters=filters)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, with the total number of matching rows."""

    items: Sequence[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


Filter = Callable[[str], ColumnElement[bool]]


def int_filter(column) -> Filter:
    """Equality with a row id given in the query string (ASCII digits, at most what an INT column holds)."""
    def build(value: str) -> ColumnElement[bool]:
        ident = parse_id(value.strip())
        if ident is None:
            raise Invalid("bad filter", {column.key: [f"must be a whole number from 0 to {MAX_INT}"]})
        return column == ident
    return build


def bool_filter(column) -> Filter:
    def build(value: str) -> ColumnElement[bool]:
        lowered = value.lower()
        if lowered not in ("true", "false", "1", "0"):
            raise Invalid("bad filter", {column.key: ["must be true or false"]})
        return column.is_(lowered in ("true", "1"))
    return build


def exact_filter(column) -> Filter:
    return lambda value: column == value


def search_filter(*columns) -> Filter:
    """Case-insensitive substring match on any of the columns (the `q` filter)."""
    from sqlalchemy import or_

    def build(value: str) -> ColumnElement[bool]:
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return or_(*(func.lower(col).like(f"%{escaped.lower()}%", escape="\\") for col in columns))
    return build


def paginate(session: Session, stmt: Select, params: ListParams, *, sortable: Mapping[str, Any],
             default_sort: Sequence[Any], filters: Mapping[str, Filter]) -> Page:
    """Apply the whitelisted filters and sort, count the matches, and fetch one page."""
    unknown = sorted(set(params.filters) - set(filters))
    if unknown:
        raise Invalid("unknown filter", {name: [f"unknown filter; known: {', '.join(sorted(filters))}"] for name in unknown})
    for name, value in params.filters.items():
        stmt = stmt.where(filters[name](value))
    order = list(default_sort)
    if params.sort:
        key = params.sort.lstrip("-")
        if key not in sortable:
            raise Invalid("bad sort", {"sort": [f"cannot sort by {key!r}; choose one of {', '.join(sorted(sortable))}"]})
        column = sortable[key]
        order = [column.desc() if params.sort.startswith("-") else column.asc(), *order]
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.order_by(*order).limit(params.per_page).offset((params.page - 1) * params.per_page)).all()
    return Page(items=rows, total=total, page=params.page, per_page=params.per_page)


def load(schema: Schema, payload: Mapping[str, Any] | None, *, partial: bool = False) -> dict[str, Any]:
    """Validate input with the resource's schema; every broken rule becomes a field message."""
    if payload is None or not isinstance(payload, Mapping):
        raise Invalid("the input must be an object of fields", {"_schema": ["expected an object"]})
    try:
        return schema.load(dict(payload), partial=partial)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise Invalid("some fields are not valid", messages) from None


def get_or_404(session: Session, model: type[T], ident: Any, what: str) -> T:
    obj = session.get(model, ident)
    if obj is None:
        raise NotFound(f"no such {what}")
    return obj


def flush(session: Session) -> None:
    """Flush, turning a database constraint violation into a Conflict named after the constraint."""
    try:
        session.flush()
    except DBAPIError as exc:
        if not is_constraint_violation(exc):
            raise
        raise conflict_from_integrity(exc) from None


def jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return value


def snapshot(obj: Any, exclude: Sequence[str] = ()) -> dict[str, Any]:
    """The row's column values as plain JSON-ready data (for the audit log)."""
    mapper = obj.__mapper__
    return {attr.key: jsonable(getattr(obj, attr.key)) for attr in mapper.column_attrs if attr.key not in exclude}


def apply(obj: Any, data: Mapping[str, Any], fields: Sequence[str]) -> None:
    """Copy the given fields that are present in `data` onto the row."""
    for name in fields:
        if name in data:
            setattr(obj, name, data[name])


def dependents(session: Session, checks: Sequence[tuple[str, Any, Any]], sample: int = 5) -> dict[str, dict[str, Any]]:
    """For (label, id column, where clause) checks: {label: {count, ids}} of the rows still present."""
    found: dict[str, dict[str, Any]] = {}
    for label, id_column, where in checks:
        count = session.scalar(select(func.count()).select_from(id_column.class_).where(where)) or 0
        if count:
            ids = session.scalars(select(id_column).where(where).order_by(id_column).limit(sample)).all()
            found[label] = {"count": count, "ids": list(ids)}
    return found


def describe_dependents(found: Mapping[str, Mapping[str, Any]]) -> str:
    return ", ".join(f"{info['count']} {label}" for label, info in found.items())
