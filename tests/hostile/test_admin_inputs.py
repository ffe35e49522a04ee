"""Every admin page, fed integers past what the database holds, forms over the body limit and CSV
files the csv module cannot read: an HTML 4xx page that says why, never a 5xx (SQLite and MariaDB).

The pages are read from the app's url_map, so a page added later is walked too.
"""
from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest

from admin.resources import RESOURCES
from tests.admin.conftest import csrf_token, post, superadmin  # noqa: F401  (fixture)
from tests.hostile.corpus import HUGE_INTEGER_TEXTS, LONG_CSV_CELL

_PART = re.compile(r"<(?:int:(\w+)|any\(([^)]*)\):(\w+)|path:\w+)>")
#: Form fields that carry a number or a row id, on any admin form.
NUMBER_FIELDS = sorted({f.name for res in RESOURCES.values() for f in res.fields if f.kind in ("number", "select")}
                       | {"tenant_id", "node_id", "weight", "admin_user_id"})
EXISTING = {"ident": "1", "tenant_id": "1", "node_id": "2"}


def admin_paths(app, huge: str):
    """(path, methods) of every admin page with each of its ids set to `huge` and each resource named."""
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or rule.endpoint == "admin.static" or "<int:" not in rule.rule:
            continue
        options = [m.group(2) for m in _PART.finditer(rule.rule) if m.group(2)]
        choices = [o.replace("'", "").split(",") for o in options] or [[]]
        for choice in choices[0]:
            path = _PART.sub(lambda m: quote(huge, safe="") if m.group(1) else choice, rule.rule)
            yield path, rule.methods - {"HEAD", "OPTIONS"}
        if not options:
            yield _PART.sub(lambda m: quote(huge, safe=""), rule.rule), rule.methods - {"HEAD", "OPTIONS"}


def assert_html_4xx(response, *statuses: int) -> str:
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
    if statuses:
        assert response.status_code in statuses
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def test_huge_or_foreign_ids_in_any_admin_page_path_are_an_html_404(app, superadmin):
    token = csrf_token(superadmin, "/admin/")
    walked = 0
    for text in HUGE_INTEGER_TEXTS:
        for path, methods in admin_paths(app, text):
            for method in sorted(methods):
                data = {"csrf_token": token} if method == "POST" else None
                assert_html_4xx(superadmin.open(path, method=method, data=data), 404)
                walked += 1
    assert walked > 100


def test_huge_integers_in_any_list_filter_are_shown_as_errors(app, superadmin):
    query = "&".join(f"{name}={quote(HUGE_INTEGER_TEXTS[2])}" for name in ("tenant_id", "node_id", "user_id",
                                                                           "gateway_id", "admin_user_id"))
    for slug in (*RESOURCES, "pinning", "tokens", "audit"):
        response = superadmin.get(f"/admin/{slug}/?{query}")
        assert response.status_code in (200, 422) and response.mimetype == "text/html", slug
    for page in ("page", "per_page"):
        response = superadmin.get(f"/admin/tenants/?{page}={2**63}")
        assert response.status_code < 500


def _forms():
    """(path) of every admin form that creates or changes a row, for an existing row."""
    for slug in RESOURCES:
        yield f"/admin/{slug}/new"
        yield f"/admin/{slug}/1"
    yield "/admin/pinning/new"
    yield "/admin/pinning/1/2"
    yield "/admin/tokens/new"


@pytest.mark.parametrize("huge", [str(2**63), str(2**31), str(-(2**63) - 1), "9" * 5000])
def test_every_form_refuses_huge_numbers_with_an_html_422(app, superadmin, huge):
    form = {name: huge for name in NUMBER_FIELDS}
    for path in _forms():
        page = assert_html_4xx(post(superadmin, path, form), 422)
        assert "error" in page.lower(), path


def test_a_form_over_max_request_bytes_is_an_html_413_that_names_the_setting(app, superadmin):
    limit = app.config["XMLCURL"]["MAX_REQUEST_BYTES"]
    for path in ("/admin/login", "/admin/tenants/new", "/admin/preview"):
        page = assert_html_4xx(post(superadmin, path, {"name": "x" * limit}), 413)
        assert f"at most {limit} bytes (XMLCURL_MAX_REQUEST_BYTES)" in page


def _upload(client, text: str, kind: str = "sip_users"):
    return client.post("/admin/import", data={"csrf_token": csrf_token(client, "/admin/import"), "kind": kind,
                                              "file": (io.BytesIO(text.encode()), "rows.csv")},
                       content_type="multipart/form-data")


def test_csv_upload_with_a_cell_over_the_csv_limit_is_an_html_422_naming_the_line(superadmin):
    page = assert_html_4xx(_upload(superadmin, f"tenant,username,password\nacme,3999,{LONG_CSV_CELL}\n"), 422)
    assert "line 2: field larger than field limit (131072)" in page


def test_csv_upload_over_max_upload_bytes_is_an_html_413(app, superadmin):
    app.config["XMLCURL"]["MAX_UPLOAD_BYTES"] = 8192
    page = assert_html_4xx(_upload(superadmin, "tenant,username,password\n" + " \n" * 8192), 413)
    assert "at most 8192 bytes (XMLCURL_MAX_UPLOAD_BYTES)" in page


def test_csv_upload_over_max_request_bytes_but_under_max_upload_bytes_is_imported(app, superadmin):
    # Small limits: werkzeug's test client spools a multipart body over 500 KB to a file it never closes.
    app.config["XMLCURL"]["MAX_REQUEST_BYTES"] = limit = 8192
    response = _upload(superadmin, "tenant,username,password\nacme,3999,password-3999\n" + " \n" * limit)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def test_a_form_field_under_max_request_bytes_reaches_the_form_even_past_flasks_500_kb(app, superadmin):
    page = assert_html_4xx(post(superadmin, "/admin/tenants/new", {"code": "big", "name": "x" * 600_000}), 422)
    assert "413" not in page
