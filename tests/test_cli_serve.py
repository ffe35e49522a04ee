"""`xmlcurl serve`, the README's first command, really answers HTTP."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

from tests.mariadb_server import free_port


def test_serve_answers_health_and_fetches_on_a_fresh_sqlite_database(tmp_path):
    port = free_port()
    env = {**os.environ, "XMLCURL_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", "XMLCURL_ENV": "development"}
    subprocess.run([sys.executable, "-m", "xmlcurl.cli", "init-db"], env=env, check=True, capture_output=True, timeout=60)
    subprocess.run([sys.executable, "-m", "xmlcurl.cli", "load-fixtures"], env=env, check=True, capture_output=True, timeout=60)
    server = subprocess.Popen([sys.executable, "-m", "xmlcurl.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "xmlcurl serve did not listen"
                assert server.poll() is None, "xmlcurl serve exited"
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            assert response.status == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
