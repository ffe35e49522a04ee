"""Screenshots of the admin for docs/: the tenant workspace (superadmin) and a tenant admin's view.

Runs the app on a fresh copy of the demo data in a temporary SQLite file, served by a local thread, and
drives /usr/bin/chromium with Playwright, from the checkout:

    PYTHONPATH=. python scripts/admin_screenshots.py [output-dir]
"""
from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from xmlcurl import create_app, db
from xmlcurl.seed import DEMO_SQL, load_sql_file
from xmlcurl.services import Actor, admin_users

CHROMIUM = "/usr/bin/chromium"
TENANT_ADMIN = ("acme-admin", "acme-password-123")


def _demo_app(folder: Path):
    url = f"sqlite:///{folder / 'demo.sqlite3'}"
    engine = db.make_engine(url, {})
    db.create_schema(engine)
    load_sql_file(engine, DEMO_SQL)
    engine.dispose()
    app = create_app({"ENV": "development", "DATABASE_URL": url, "SEED_DEMO": False, "LOG_LEVEL": "WARNING",
                      "SIP_PROXY_ADDRESS": "sip.example.com"})
    with app.app_context():
        session = db.session()
        admin_users.create(session, Actor.cli("screenshots"), {"username": TENANT_ADMIN[0], "password": TENANT_ADMIN[1],
                                                                "role": "tenant_admin", "tenant_id": 1})
        session.commit()
    return app


def _sign_in(page, username: str, password: str) -> None:
    page.goto("/admin/login")
    page.get_by_role("textbox", name="Username", exact=True).fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        app = _demo_app(Path(folder))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                for user, path, name in ((("admin", "demo-admin-password"), "/admin/tenant/1", "admin-tenant-workspace.png"),
                                         (TENANT_ADMIN, "/admin/tenant/1", "admin-tenant-admin-view.png")):
                    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
                    page = context.new_page()
                    _sign_in(page, *user)
                    if page.get_by_label("Workspace").count():  # the superadmin works on acme
                        with page.expect_navigation():
                            page.get_by_label("Workspace").select_option(label="acme")
                    answer = page.goto(path)
                    if answer.status != 200:
                        raise SystemExit(f"{path} answered {answer.status}: {page.content()[:600]}")
                    page.screenshot(path=str(out / name), full_page=True)
                    print(out / name)
                    context.close()
                browser.close()
        finally:
            server.shutdown()
            app.extensions["xmlcurl.db"].dispose()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "docs")
