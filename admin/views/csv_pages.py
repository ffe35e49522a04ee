"""CSV import (every row or none, with the rejected rows and why) and export of SIP users, DIDs and routes."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for

from xmlcurl import db, limits
from xmlcurl.services import ServiceError
from xmlcurl.services.csv_io import COLUMNS, export_csv, import_csv, template as csv_template

from ..auth import current_actor
from ..web import field_errors

TITLES = {"sip_users": "SIP users", "dids": "DIDs", "routes": "Routes"}


def _kinds() -> list[str]:
    return list(TITLES) if current_actor().is_superadmin else ["sip_users", "dids"]


def _page(values: dict, errors: dict, report=None, message: str = "", status: int = 200):
    return render_template("admin/import.html", kinds=_kinds(), titles=TITLES, columns=COLUMNS, values=values,
                           errors=errors, report=report, message=message), status


@limits.upload
def import_page():
    """Upload a CSV file: all rows are applied in one transaction, or none and the page lists the rejected rows."""
    values = {"kind": request.values.get("kind", "sip_users"), "existing": request.form.get("existing", "")}
    if values["kind"] not in _kinds():
        abort(404)
    if request.method == "GET":
        return _page(values, {})
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(values, {"file": "choose a CSV file"}, status=422)
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        return _page(values, {"file": "the file is not UTF-8 text: save it as CSV UTF-8"}, status=422)
    session = db.session()
    try:
        report = import_csv(session, current_actor(), values["kind"], text, update_existing=bool(values["existing"]))
        if not report.applied:
            session.rollback()
            return _page(values, {}, report=report, status=422,
                         message=f"{len(report.rejected)} of {report.rows} rows rejected; nothing was imported.")
        session.commit()
    except ServiceError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        return _page(values, field_errors(exc.errors), message=exc.message, status=exc.status)
    except Exception:
        session.rollback()
        raise
    flash(f"Imported {TITLES[values['kind']]}: {report.created} created, {report.updated} updated, "
          f"from {report.rows} rows.", "ok")
    return redirect(url_for("admin.import_page", kind=values["kind"]))


def export(kind: str):
    """The rows as CSV, in the import's columns (no passwords: only their hashes are stored)."""
    if kind not in _kinds():
        abort(404)
    session = db.session()
    try:
        chunks = export_csv(session, current_actor(), kind)
    except ServiceError:
        session.rollback()
        raise
    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'})


def template(kind: str):
    """A file to fill in for an import: the header and one example row."""
    if kind not in _kinds():
        abort(404)
    return Response(csv_template(kind), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{kind}-template.csv"'})
