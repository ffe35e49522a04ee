"""The benchmark's wrk script: a spread's bodies are its template filled from one row, with that row's credentials."""
from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import wrk
from bench.dataset import Spread
from tests.conftest import IN_CI

TEMPLATE = b"hostname=QQ5QQ&section=directory&key_value=QQ1QQ&user=QQ4QQ&sip_to_host=QQ1QQ&tenant=QQ3QQ&end=1"
ROWS = [("a.example.net", "ctx-a", "ta", "1000", "media-1", "127.0.0.11"),
        ("b.example.net", "ctx-b", "tb", "2000", "media-2", "127.0.0.12"),
        ("c.example.net", "ctx-c", "tc", "3000", "media-3", "127.0.0.13")]
AUTHS = ["Basic YTph", "Basic Yjpi", "Basic Yzpj"]


def test_a_spread_request_is_the_template_filled_from_one_row_with_its_credentials(tmp_path):
    if shutil.which("wrk") is None:
        message = "wrk is not installed (scripts/system-deps.sh)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    received: list[tuple[bytes, str]] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers["Authorization"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        load = wrk.run(server.server_address[1], Spread(TEMPLATE, ROWS, AUTHS), seconds=1, connections=2, threads=1,
                       workdir=tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert load.requests > 0 and received
    expected = {}
    for row, auth in zip(ROWS, AUTHS):
        body = TEMPLATE
        for n, value in enumerate(row, start=1):
            body = body.replace(f"QQ{n}QQ".encode(), value.encode())
        expected[body] = auth
    assert {body for body, _ in received} <= set(expected)
    assert all(expected[body] == auth for body, auth in received)
    assert len({body for body, _ in received}) > 1  # drawn from the rows, not always the first
