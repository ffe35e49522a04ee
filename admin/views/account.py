"""Your account: change your own password (the other signed-in sessions of the account end)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for

from xmlcurl.services import ServiceError, admin_users

from ..auth import password_mark
from ..web import field_errors, run


def account():
    """Change your password, giving the current one."""
    if request.method == "GET":
        return render_template("admin/account.html", errors={}, message="")
    data = {name: request.form.get(name, "") for name in ("current_password", "new_password")}
    try:
        user = run(True, admin_users.change_own_password, data)
    except ServiceError as exc:
        return render_template("admin/account.html", errors=field_errors(exc.errors), message=exc.message), exc.status
    # This session stays signed in; the others carry the old generation and end.
    session["pw"] = password_mark(user)
    session["gen"] = user.session_generation
    flash("Your password was changed; your other sessions are signed out.", "ok")
    return redirect(url_for("admin.account"))
