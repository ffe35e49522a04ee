"""Admin sign-in: login and logout, the signed-in user on every request, cookie settings, throttling."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math

from flask import (Flask, current_app, flash, g, redirect, render_template, request, session, url_for)
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import NotFound

from xmlcurl import db
from xmlcurl.logging_setup import loggable
from xmlcurl.models import AdminUser
from xmlcurl.services import Actor, admin_users

from .throttle import LoginThrottle, subject_for

log = logging.getLogger("xmlcurl.admin")

#: Pages anyone may open (the static files and the login page itself).
PUBLIC_ENDPOINTS = {"admin.login", "admin.static"}
#: Where the admin pages live (the blueprint's url_prefix).
ADMIN_PATH = "/admin"
THROTTLE_KEY = "xmlcurl.admin.throttle"


class AdminSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure whenever the request came over HTTPS.

    Only the admin pages have a session: fetches, the API and the probes get Flask's null session,
    so they never pay for reading or signing a cookie.
    """

    def open_session(self, app: Flask, request):  # type: ignore[override]
        if not request.path.startswith(ADMIN_PATH):
            return None  # Flask then uses its null session (empty, refuses writes)
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        # Behind a TLS-terminating proxy, wrap the app in werkzeug's ProxyFix so is_secure is right.
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (request.is_secure if request else False)


def init_app(app: Flask) -> None:
    """Cookie settings and the login throttle (tests may replace it in app.extensions)."""
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_NAME="xmlcurl_admin", PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12))
    app.session_interface = AdminSessionInterface()
    app.extensions.setdefault(THROTTLE_KEY, LoginThrottle())


def throttle() -> LoginThrottle:
    return current_app.extensions[THROTTLE_KEY]


def current_actor() -> Actor:
    return g.admin_actor


def current_user() -> AdminUser:
    return g.admin_user


def load_user() -> object | None:
    """Before every admin request: the signed-in, still enabled user, or a redirect to the login page."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    user_id = session.get("admin_user_id")
    user = db.session().get(AdminUser, user_id) if isinstance(user_id, int) else None
    # A session outlives neither a disabled account, a password change nor a sign-out (its generation).
    if (user is None or not user.enabled or session.get("pw") != password_mark(user)
            or session.get("gen") != user.session_generation):
        session.clear()
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?") if request.method == "GET" else None))
    g.admin_user = user
    g.admin_actor = Actor.for_user(user, "admin")
    return None


def password_mark(user: AdminUser) -> str:
    """A short digest of the stored hash: a password change ends the other sessions (the hash is never sent)."""
    return hashlib.sha256(user.password_hash.encode("utf-8")).hexdigest()[:16]


def require_superadmin() -> None:
    """Pages only a superadmin uses answer 404 to a tenant admin (they are not shown at all)."""
    if not current_actor().is_superadmin:
        raise NotFound()


def _safe_next(target: str | None) -> str:
    """Only a path inside the admin: never an absolute URL another site could use."""
    if target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("admin.dashboard")


def login():
    """Sign in with username and password (refused for a while after repeated failures)."""
    errors: dict[str, str] = {}
    username = ""
    status = 200
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        address = request.remote_addr or "-"
        dbs = db.session()
        # Failures count against the account the name resolves to, however it was spelt.
        subject = subject_for(admin_users.by_username(dbs, username) if username else None, username)
        wait = throttle().retry_after(dbs, subject, address)
        if wait > 0:
            minutes = max(1, math.ceil(wait / 60))
            errors["_form"] = (f"Too many failed logins for {username or 'this username'} from your address. "
                               f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.")
            status = 429
        elif not username or not password:
            errors["_form"] = "Enter your username and password."
            status = 400
        else:
            user = admin_users.authenticate(dbs, username, password)
            if user is None:
                throttle().failed(dbs, subject, address)
                dbs.commit()
                log.warning("admin login refused result=wrong username or password username=%s peer=%s",
                            loggable(username), loggable(address))
                errors["_form"] = "Wrong username or password."
                status = 401
            else:
                throttle().succeeded(dbs, subject, address)
                admin_users.record_login(dbs, user)
                dbs.commit()
                session.clear()  # a fresh session (and CSRF token) after signing in
                # Permanent: the signed cookie is refused after 12 hours without a request (idle timeout).
                session.permanent = True
                session["admin_user_id"] = user.id
                session["pw"] = password_mark(user)
                session["gen"] = user.session_generation
                flash(f"Signed in as {user.username}.", "ok")
                return redirect(_safe_next(request.args.get("next")))
    return render_template("admin/login.html", errors=errors, username=username), status


def logout():
    """Sign out everywhere (POST only, with the CSRF token, so no other site can sign you out).

    The account's session generation moves on, so a copy of this cookie (or any other session of
    the account) is refused from now on, not only this browser's.
    """
    dbs = db.session()
    admin_users.end_sessions(current_user())
    dbs.commit()
    session.clear()
    flash("Signed out.", "ok")
    return redirect(url_for("admin.login"))
