"""Sessions end server-side (sign-out, password change, disabling, deleting); the login throttle holds
whatever spelling of the name is tried and whichever worker answers."""
from __future__ import annotations

from sqlalchemy import func, select

from xmlcurl import db
from xmlcurl.models import AdminUser, LoginFailure
from xmlcurl.services import Actor, admin_users

from .conftest import ACME_ADMIN, SUPER, csrf_token, login, make_tenant_admin, post


def _copy_cookie(source, target) -> None:
    cookie = source.get_cookie("xmlcurl_admin")
    target.set_cookie("xmlcurl_admin", cookie.value)


def _signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def test_a_session_cookie_copied_before_logout_is_refused_after_it(app):
    browser, thief = app.test_client(), app.test_client()
    assert login(browser, *SUPER).status_code == 302
    _copy_cookie(browser, thief)
    assert _signed_in(thief)
    assert post(browser, "/admin/logout").status_code == 302
    assert not _signed_in(thief)
    assert not _signed_in(browser)


def test_disabling_or_deleting_an_admin_ends_its_sessions_even_once_re_enabled(app, superadmin):
    make_tenant_admin(app, *ACME_ADMIN, tenant_id=1)
    acme = app.test_client()
    assert login(acme, *ACME_ADMIN).status_code == 302
    with app.app_context():
        user_id = admin_users.by_username(db.session(), ACME_ADMIN[0]).id
    for enabled in (False, True):
        with app.app_context():
            session = db.session()
            admin_users.update(session, Actor.cli("pytest"), user_id, {"enabled": enabled})
            session.commit()
    assert not _signed_in(acme)
    assert login(acme, *ACME_ADMIN).status_code == 302
    with app.app_context():
        session = db.session()
        admin_users.delete(session, Actor.cli("pytest"), user_id)
        session.commit()
    assert not _signed_in(acme)


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app):
    here, elsewhere = app.test_client(), app.test_client()
    assert login(here, *SUPER).status_code == 302
    assert login(elsewhere, *SUPER).status_code == 302
    response = post(here, "/admin/account", {"current_password": SUPER[1], "new_password": "a-new-long-password-1"})
    assert response.status_code == 302
    assert _signed_in(here) and not _signed_in(elsewhere)


def test_an_accent_variant_of_a_throttled_name_neither_signs_in_nor_gets_fresh_tries(client):
    for _ in range(5):
        assert login(client, "admin", "wrong-password-x").status_code == 401
    for variant in ("ádmin", "Admin", "ADMIN", " admin "):
        response = login(client, variant, SUPER[1])
        assert response.status_code in (401, 429), variant
        assert not _signed_in(client)
    assert login(client, *SUPER).status_code == 429


def test_usernames_compare_exactly_in_the_database(session):
    for variant in ("ádmin", "Admin", "ADMİN"):
        assert admin_users.by_username(session, variant) is None, variant
    assert admin_users.by_username(session, "admin").id == 1


def test_failures_counted_by_one_worker_throttle_the_others(app, client):
    from admin.auth import THROTTLE_KEY
    from admin.throttle import LoginThrottle

    for _ in range(5):
        assert login(client, "admin", "wrong-password-x").status_code == 401
    # Another worker starts with its own throttle object: the failures are in the database.
    app.extensions[THROTTLE_KEY] = LoginThrottle()
    assert login(client, *SUPER).status_code == 429
    with app.app_context():
        count = db.session().scalar(select(func.count()).select_from(LoginFailure).where(
            LoginFailure.subject == "admin:1"))
        assert count == 5


def test_a_successful_login_clears_the_accounts_failures_from_that_address(app, client):
    for _ in range(3):
        login(client, "admin", "wrong-password-x")
    assert login(client, *SUPER).status_code == 302
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(LoginFailure)) == 0
