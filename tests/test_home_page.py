"""`/`: a start page naming the admin, the fetch URL, the API and the probes, each a working link."""
from __future__ import annotations

import re


def _links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_start_page_names_the_admin_the_fetch_url_and_the_probes(client):
    response = client.get("/", base_url="http://xmlcurl.internal:8080")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'href="/admin/"' in html and "http://xmlcurl.internal:8080/admin/" in html
    assert "POST http://xmlcurl.internal:8080/freeswitch" in html
    # The binding to paste into xml_curl.conf carries this server's own address.
    assert 'name="gateway-url" value="http://xmlcurl.internal:8080/freeswitch"' in html
    for path in ("/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"):
        assert f'href="{path}"' in html


def test_every_link_on_the_start_page_answers(client):
    html = client.get("/").get_data(as_text=True)
    assert len(_links(html)) >= 7
    for href in _links(html):
        with client.get(href) as response:
            # The admin sends a visitor without a session to its login page; everything else answers.
            assert response.status_code in (200, 302), (href, response.status_code)
            if response.status_code == 302:
                assert "/admin/login" in response.headers["Location"]


def test_demo_login_is_shown_only_when_the_demo_is_on(app, client):
    assert "demo-admin-password" not in client.get("/").get_data(as_text=True)
    app.config["XMLCURL"]["SEED_DEMO"] = True
    html = client.get("/").get_data(as_text=True)
    assert "<code>admin</code> / <code>demo-admin-password</code>" in html
    assert "never use this database in production" in html


def test_start_page_escapes_the_host_header(client):
    html = client.get("/", headers={"Host": 'x"><script>alert(1)</script>'}).get_data(as_text=True)
    assert "<script>" not in html
