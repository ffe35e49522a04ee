"""HTML form values to service input and back: shaping only, every rule is the schema's and the service's."""
from __future__ import annotations

from typing import Any, Mapping

from werkzeug.datastructures import MultiDict

from xmlcurl.services import Actor

from .resources import Field, Resource


def variables_input(text: str) -> list[dict[str, str]]:
    """'name=value' lines as the schema's list of variables (a line without '=' has an empty value)."""
    out = []
    for line in text.splitlines():
        if line.strip():
            name, _, value = line.partition("=")
            out.append({"name": name.strip(), "value": value.strip()})
    return out


def payload(resource: Resource, form: MultiDict, actor: Actor, creating: bool) -> dict[str, Any]:
    """The service input for a submitted form. An unticked box is false; a blank number on a new row
    takes the stored default; a blank secret is left out by the schema (the stored one is kept)."""
    data: dict[str, Any] = {}
    for field in resource.visible_fields(actor, creating):
        if field.kind == "checkbox":
            data[field.name] = "true" if form.get(field.name) else "false"
            continue
        raw = form.get(field.name, "")
        if field.kind == "variables":
            data[field.name] = variables_input(raw)
            continue
        if field.kind != "password":
            raw = raw.strip()
        if raw == "" and creating and field.kind in ("number", "select") and field.initial is not None:
            continue
        data[field.name] = raw
    if resource.prepare is not None:
        resource.prepare(data, actor)
    return data


def initial_values(resource: Resource, actor: Actor) -> dict[str, Any]:
    return {f.name: f.initial for f in resource.visible_fields(actor, True) if f.initial is not None}


def row_values(resource: Resource, row: Any, actor: Actor) -> dict[str, Any]:
    """A stored row's values for the edit form (secrets are never shown)."""
    values = {f.name: getattr(row, f.name, None) for f in resource.visible_fields(actor, False)
              if f.kind != "password" and hasattr(row, f.name)}
    if resource.current is not None:
        values.update(resource.current(row))
    return values


def submitted_values(fields: list[Field], form: Mapping[str, str]) -> dict[str, Any]:
    """What the person typed, shown again with the errors (never the secrets)."""
    values: dict[str, Any] = {}
    for field in fields:
        if field.kind == "password":
            continue
        values[field.name] = bool(form.get(field.name)) if field.kind == "checkbox" else form.get(field.name, "")
    return values
