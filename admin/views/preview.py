"""Preview: the exact XML a node receives for a fetch, built from a form or pasted from a capture."""
from __future__ import annotations

from flask import current_app, render_template, request

from xmlcurl import db
from xmlcurl.render import RenderError, body_of, render_for_node

from .. import fetch_bodies
from ..auth import current_actor, require_superadmin
from xmlcurl.services import ListParams, nodes

MODES = ("directory", "dialplan", "configuration", "raw")
MAX_PASTE = 65536


def _defaults() -> dict[str, str]:
    settings = current_app.config["XMLCURL"]
    return {"mode": "directory", "node": "", "domain": "", "user": "", "action": "sip_auth",
            "profile": settings["MEDIA_USER_PROFILE"], "context": "", "number": "", "caller": "", "network_ip": "",
            "x_tenant": "", "config": "sofia.conf", "config_profile": "", "raw": ""}


def _build(values: dict[str, str]) -> tuple[bytes | None, dict[str, str]]:
    """The body the form describes, or the missing inputs (field -> message)."""
    node, mode = values["node"], values["mode"]
    errors = {}
    if not node:
        errors["node"] = "choose the node that asks"
    required = {"directory": ("domain", "user"), "dialplan": ("context", "number"), "raw": ("raw",)}.get(mode, ())
    for name in required:
        if not values[name].strip():
            errors[name] = "required for this kind of fetch"
    if mode == "raw" and len(values["raw"]) > MAX_PASTE:
        errors["raw"] = f"at most {MAX_PASTE} characters"
    if errors:
        return None, errors
    if mode == "directory":
        return fetch_bodies.directory(node, values["domain"].strip(), values["user"].strip(), values["action"],
                                      values["profile"].strip()), {}
    if mode == "dialplan":
        return fetch_bodies.dialplan(node, values["context"].strip(), values["number"].strip(),
                                     values["profile"].strip(), values["caller"].strip(),
                                     values["network_ip"].strip(), values["x_tenant"].strip()), {}
    if mode == "configuration":
        return fetch_bodies.configuration(node, values["config"], values["config_profile"].strip()), {}
    return values["raw"].encode("utf-8"), {}


def node_names() -> list[tuple[str, str]]:
    """(name, label) of every node: the preview and route test name nodes as FreeSWITCH does."""
    page = nodes.search(db.session(), current_actor(), ListParams(per_page=500))
    return [(n.name, f"{n.name} ({n.role}, {n.sip_address})") for n in page.items]


def preview():
    """Choose a node and a fetch (or paste one) and see xmlcurl's answer, byte for byte."""
    require_superadmin()
    values = _defaults()
    errors: dict[str, str] = {}
    result = None
    sent = None
    status = 200
    # A link may prefill the form (?mode=directory&domain=...&user=...), and with show=1 also answer it:
    # the tenant page and the user and route rows link here.
    values.update({k: request.args[k] for k in values if k in request.args and k != "raw"})
    if request.method == "POST" or request.args.get("show"):
        source = request.form if request.method == "POST" else request.args
        values.update({k: source.get(k, values[k] if request.method == "GET" else "") for k in values})
        if values["mode"] not in MODES:
            values["mode"] = "directory"
        if values["action"] not in fetch_bodies.DIRECTORY_ACTIONS:
            errors["action"] = "choose sip_auth or user_call"
        if values["config"] not in fetch_bodies.CONFIGURATIONS:
            errors["config"] = "choose sofia.conf or acl.conf"
        raw, missing = _build(values) if not errors else (None, {})
        errors.update(missing)
        if raw is not None:
            try:
                sent = body_of(raw).decode("utf-8", "replace")
                result = render_for_node(db.session(), values["node"], raw, current_app.config["XMLCURL"])
            except RenderError as exc:
                errors["_form"] = str(exc)
            finally:
                db.session().rollback()  # the fetch path only reads; end its transaction
        if errors:
            status = 422
    return render_template("admin/preview.html", values=values, errors=errors, result=result, sent=sent,
                           xml=result.body.decode("utf-8", "replace") if result else None,
                           nodes=node_names(),
                           actions=fetch_bodies.DIRECTORY_ACTIONS, configs=fetch_bodies.CONFIGURATIONS), status
