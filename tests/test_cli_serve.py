"""`xmlcurl serve` (`make serve`): gunicorn with gunicorn.conf.py, as deployed, answering HTTP."""
from __future__ import annotations

import http.cookiejar
import os
import re
import stat
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.mariadb_server import free_port
from xmlcurl.cli.serve import demo_secret

ROOT = Path(__file__).resolve().parent.parent


def _wait_ready(server: subprocess.Popen, port: int, seconds: float = 120) -> None:
    """Until /readyz answers 200, from before gunicorn listens: it listens before its workers have loaded
    the app, and on a busy machine a worker may take longer to boot than one request's timeout."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
                assert response.status == 200
                return
        except OSError:  # refused, reset or timed out while no worker had booted yet
            assert time.monotonic() < deadline, "xmlcurl serve never answered /readyz"
            assert server.poll() is None, "xmlcurl serve exited"
            time.sleep(0.2)


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in found.stdout.split()]


def _service_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh shell: no XMLCURL_* but the database, metrics kept out of the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XMLCURL_")}
    (tmp_path / "metrics").mkdir(exist_ok=True)
    env.update(XMLCURL_DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}",
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"), PYTHONPATH=str(ROOT), **extra)
    return env


def test_serve_answers_health_and_fetches_on_a_fresh_sqlite_database(tmp_path):
    port = free_port()
    env = _service_env(tmp_path, XMLCURL_ENV="development")
    subprocess.run([sys.executable, "-m", "xmlcurl.cli", "init-db"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run([sys.executable, "-m", "xmlcurl.cli", "load-fixtures"], env=env, check=True, capture_output=True, timeout=120)
    server = subprocess.Popen([sys.executable, "-m", "xmlcurl.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(server, port)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _login(port: int, username: str, password: str) -> str:
    """Log in through the admin's form as a browser does; the page reached afterwards."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"http://127.0.0.1:{port}/admin/login", timeout=10) as page:
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode()).group(1)
    form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token}).encode()
    with opener.open(f"http://127.0.0.1:{port}/admin/login", data=form, timeout=10) as answer:
        assert answer.url.endswith("/admin/"), answer.url
    # Requests alternate between the two workers: each must accept the cookie the other signed.
    pages = []
    for _ in range(4):
        with opener.open(f"http://127.0.0.1:{port}/admin/", timeout=10) as page:
            assert page.url.endswith("/admin/"), "sent back to the login page"
            pages.append(page.read().decode())
    return pages[-1]


def test_serve_demo_runs_gunicorn_in_production_mode_and_its_printed_login_works(tmp_path):
    port = free_port()
    # As `make serve` runs it on a fresh machine: no secret key, no XMLCURL_ENV.
    env = _service_env(tmp_path)
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "xmlcurl.cli", "serve", "--demo", "--port", str(port),
                                   "--workers", "2"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(server, port)
        printed = log.read_text()
        # gunicorn took over the process (exec), with the project's config and two workers.
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
        assert b"gunicorn" in cmdline and str(ROOT / "gunicorn.conf.py").encode() in cmdline
        deadline = time.monotonic() + 60
        while len(_children(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_children(server.pid)) == 2
        assert f"  admin       http://127.0.0.1:{port}/admin/" in printed
        assert f"  fetch URL   http://127.0.0.1:{port}/freeswitch" in printed
        assert "  demo login  admin / demo-admin-password" in printed
        assert "Listening at: http://127.0.0.1:" in log.read_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert "demo-admin-password" in page.read().decode()
        assert "Dashboard" in _login(port, "admin", "demo-admin-password")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode == 0, log.read_text()


def test_serve_without_a_secret_key_refuses_before_starting_gunicorn(tmp_path):
    result = subprocess.run([sys.executable, "-m", "xmlcurl.cli", "serve", "--port", str(free_port())],
                            env=_service_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "XMLCURL_SECRET_KEY must be set to at least 32 random characters" in result.stderr
    assert "gunicorn" not in result.stderr.replace("gunicorn wsgi:app", "")


def test_demo_secret_is_random_kept_private_and_reused(tmp_path):
    first = demo_secret(tmp_path / "instance")
    path = tmp_path / "instance" / "secret_key"
    assert len(first) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert demo_secret(tmp_path / "instance") == first
    assert demo_secret(tmp_path / "other") != first


def test_a_short_kept_secret_is_refused_not_used(tmp_path):
    import click

    (tmp_path / "secret_key").write_text("short\n")
    with pytest.raises(click.ClickException, match="holds no usable key"):
        demo_secret(tmp_path)
