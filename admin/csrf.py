"""CSRF protection of the admin forms with Flask-WTF's CSRFProtect, applied to the admin pages only.

The fetch endpoint and the token-authenticated JSON API take no cookies, so they are not checked:
the check is switched off by default and run by the admin blueprint before each of its POSTs.
"""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # The token lives as long as the signed-in session rather than an hour: no lost form after a long edit.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)


def protect() -> None:
    """Before every admin request: a POST without a valid token is refused with 400."""
    if request.method == "POST":
        csrf.protect()


def refused(error: CSRFError):
    return render_template("admin/error.html", status=400, title="Form refused",
                           message=f"This form could not be accepted: {error.description} "
                                   "Reload the page and submit it again."), 400
