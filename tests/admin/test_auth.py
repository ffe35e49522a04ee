"""Sign-in, throttling, session cookies and CSRF refusals of the admin."""
from __future__ import annotations

from sqlalchemy import func, select

from xmlcurl import db
from xmlcurl.models import Tenant

from .conftest import ACME_ADMIN, SUPER, csrf_token, login, make_tenant_admin, post


def test_pages_redirect_to_the_login_page_when_signed_out(client):
    for path in ("/admin/", "/admin/tenants/", "/admin/sip-users/1", "/admin/preview"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/admin/login?next=")


def test_wrong_password_is_refused_and_signs_nobody_in(client):
    response = login(client, "admin", "not-the-password")
    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_unknown_username_gets_the_same_answer_as_a_wrong_password(client):
    response = login(client, "nobody-here", "whatever-password")
    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)


def test_login_lands_on_the_page_asked_for_but_never_off_site(client):
    token = csrf_token(client)
    response = client.post("/admin/login?next=/admin/nodes/", data={"username": SUPER[0], "password": SUPER[1],
                                                                   "csrf_token": token})
    assert response.headers["Location"] == "/admin/nodes/"
    other = client.application.test_client()
    token = csrf_token(other)
    response = other.post("/admin/login?next=//evil.example/", data={"username": SUPER[0], "password": SUPER[1],
                                                                     "csrf_token": token})
    assert response.headers["Location"] == "/admin/"


def test_repeated_failures_refuse_even_the_right_password_for_a_while(client):
    for _ in range(5):
        assert login(client, "admin", "wrong-password-x").status_code == 401
    response = login(client, *SUPER)
    assert response.status_code == 429
    assert "Too many failed logins for admin from your address" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    # Another address is not held back by this one's failures.
    elsewhere = client.application.test_client()
    assert login(elsewhere, *SUPER, environ_base={"REMOTE_ADDR": "127.0.0.99"}).status_code == 302


def test_throttle_window_ends_and_success_clears_the_count(app, client):
    from admin.auth import THROTTLE_KEY
    from admin.throttle import LoginThrottle

    now = [1_800_000_000.0]
    app.extensions[THROTTLE_KEY] = LoginThrottle(limit=3, window_seconds=60, clock=lambda: now[0])
    for _ in range(3):
        login(client, "admin", "wrong-password-x")
    assert login(client, *SUPER).status_code == 429
    now[0] += 61
    assert login(client, *SUPER).status_code == 302
    with app.app_context():
        assert app.extensions[THROTTLE_KEY].retry_after(db.session(), "admin:1", "127.0.0.1") == 0


def test_session_cookie_is_httponly_samesite_lax_and_secure_over_https(app):
    plain = app.test_client()
    login(plain, *SUPER)
    cookie = plain.get_cookie("xmlcurl_admin")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure
    tls = app.test_client()
    token = csrf_token(tls, "https://localhost/admin/login")
    response = tls.post("https://localhost/admin/login", data={"username": SUPER[0], "password": SUPER[1],
                                                                "csrf_token": token},
                        headers={"Referer": "https://localhost/admin/login"})
    assert response.status_code == 302
    header = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("xmlcurl_admin=")][0]
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


def test_post_without_csrf_token_is_refused_and_changes_nothing(app, superadmin, session):
    before = session.scalar(select(func.count()).select_from(Tenant))
    response = superadmin.post("/admin/tenants/new", data={"code": "nocsrf", "name": "No CSRF",
                                                           "sip_domain": "nocsrf.example.com"})
    assert response.status_code == 400
    assert "Form refused" in response.get_data(as_text=True)
    bad = superadmin.post("/admin/tenants/new", data={"code": "nocsrf", "name": "No CSRF",
                                                      "sip_domain": "nocsrf.example.com", "csrf_token": "forged"})
    assert bad.status_code == 400
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Tenant)) == before


def test_login_form_needs_its_csrf_token_too(client):
    response = client.post("/admin/login", data={"username": SUPER[0], "password": SUPER[1]})
    assert response.status_code == 400


def test_logout_is_a_post_that_ends_the_session(superadmin):
    assert superadmin.get("/admin/logout").status_code == 405
    response = post(superadmin, "/admin/logout")
    assert response.status_code == 302
    assert superadmin.get("/admin/").status_code == 302


def test_a_password_change_or_disabling_ends_other_sessions(app, superadmin):
    make_tenant_admin(app, *ACME_ADMIN, tenant_id=1)
    other = app.test_client()
    assert login(other, *ACME_ADMIN).status_code == 302
    user_id = _user_id(app, ACME_ADMIN[0])
    response = post(superadmin, f"/admin/admin-users/{user_id}", {
        "username": ACME_ADMIN[0], "password": "a-brand-new-password", "role": "tenant_admin", "tenant_id": "1",
        "enabled": "true"})
    assert response.status_code == 302
    assert other.get("/admin/").status_code == 302


def _user_id(app, username: str) -> int:
    from xmlcurl.services import admin_users

    with app.app_context():
        return admin_users.by_username(db.session(), username).id


def test_changing_ones_own_password_needs_the_current_one(app, acme_admin):
    wrong = post(acme_admin, "/admin/account", {"current_password": "not-it", "new_password": "another-long-pass"})
    assert wrong.status_code == 422
    assert 'id="current_password-error">wrong password' in wrong.get_data(as_text=True)
    done = post(acme_admin, "/admin/account", {"current_password": ACME_ADMIN[1], "new_password": "another-long-pass"},
                follow_redirects=True)
    assert "Your password was changed" in done.get_data(as_text=True)
    assert acme_admin.get("/admin/sip-users/").status_code == 200  # this session stays signed in
    assert login(app.test_client(), ACME_ADMIN[0], ACME_ADMIN[1]).status_code == 401


def test_an_idle_session_expires(app, superadmin):
    import datetime as dt
    import time

    assert superadmin.get("/admin/").status_code == 200
    app.permanent_session_lifetime = dt.timedelta(seconds=1)
    time.sleep(2.1)
    assert superadmin.get("/admin/").status_code == 302
