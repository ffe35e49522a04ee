"""What every admin page shares: running a service in the request's transaction, and error messages."""
from __future__ import annotations

from typing import Any, Callable, Mapping

from flask import request
from sqlalchemy import select

from xmlcurl import db
from xmlcurl.models import Tenant
from xmlcurl.services import ListParams, ServiceError

from .auth import current_actor


def run(write: bool, func: Callable, *args: Any) -> Any:
    """Call a service as the signed-in user; a write commits once, any error rolls back first."""
    session = db.session()
    try:
        result = func(session, current_actor(), *args)
        if write:
            session.commit()
        return result
    except Exception:
        session.rollback()
        raise


def dry_run(func: Callable, *args: Any) -> ServiceError | None:
    """Try a change and always roll it back: the refusal it would meet (a delete's dependents), or None."""
    session = db.session()
    try:
        func(session, current_actor(), *args)
        return None
    except ServiceError as exc:
        return exc
    finally:
        session.rollback()


def field_errors(errors: Mapping[str, Any]) -> dict[str, str]:
    """A service's {field: [messages]} (possibly nested, e.g. variables by index) as one line per field."""
    out: dict[str, str] = {}
    for name, value in errors.items():
        if name in ("constraint", "dependents"):
            continue
        out[str(name)] = "; ".join(_flatten(value))
    return out


def _flatten(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, Mapping):
        lines: list[str] = []
        for key, inner in value.items():
            label = f"line {int(key) + 1}" if isinstance(key, int) or str(key).isdigit() else str(key)
            lines += _flatten(inner, f"{prefix}{label}: ")
        return lines
    if isinstance(value, (list, tuple)):
        return [line for item in value for line in _flatten(item, prefix)]
    return [f"{prefix}{value}"]


def list_params(allowed: tuple[str, ...], source: Mapping[str, str] | None = None) -> tuple[ListParams, dict[str, str]]:
    """Paging and the page's own filters from the query string (anything else is ignored)."""
    source = request.args if source is None else source
    args = {k: v for k, v in source.items() if k in allowed + ("page", "per_page", "sort") and v.strip() != ""}
    return ListParams.from_args(args), {k: v for k, v in args.items() if k in allowed}


def tenant_codes() -> dict[int, str]:
    """Tenant id -> code for showing rows (a tenant admin's pages only ever hold its own tenant)."""
    actor = current_actor()
    stmt = select(Tenant.id, Tenant.code)
    if not actor.is_superadmin:
        stmt = stmt.where(Tenant.id == actor.tenant_id)
    return dict(db.session().execute(stmt).tuples().all())


#: Where the tenant switcher keeps the chosen tenant (a superadmin's; a tenant admin has only its own).
SWITCH_KEY = "tenant_id"


def current_tenant_id() -> int | None:
    """The tenant every list is filtered to: the switcher's choice (superadmin), or the tenant admin's own."""
    from flask import session as cookie

    actor = current_actor()
    if not actor.is_superadmin:
        return actor.tenant_id
    value = cookie.get(SWITCH_KEY)
    return value if isinstance(value, int) else None


def scoped_args(filter_names: tuple[str, ...]) -> dict[str, str]:
    """request.args with the switcher's tenant added as the list's tenant filter when the page has one
    and the query does not set it itself (an explicit 'any' is an empty value and wins)."""
    args = dict(request.args.items())
    tenant_id = current_tenant_id() if current_actor().is_superadmin else None
    if tenant_id is not None:
        for name in ("applies_to", "tenant_id"):
            if name in filter_names:
                if "tenant_id" not in args and "applies_to" not in args:
                    args[name] = str(tenant_id)
                break
    return args
