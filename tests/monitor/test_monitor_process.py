"""`xmlcurl monitor` as it runs beside gunicorn: a process of its own that polls, writes, and stops cleanly on SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import create_engine, text

from tests.push.esl_double import EslDouble

from .conftest import ESL_KEY, PASSWORD, captured


def test_the_monitor_process_fills_the_snapshot_and_releases_its_lease_on_sigterm(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    env = {**os.environ, "XMLCURL_DATABASE_URL": url, "XMLCURL_ENV": "development", "XMLCURL_ESL_KEY": ESL_KEY,
           "XMLCURL_MONITOR_INTERVAL": "1", "XMLCURL_MONITOR_TIMEOUT": "0.5"}
    cli = [sys.executable, "-m", "xmlcurl.cli"]
    subprocess.run(cli + ["init-db"], env=env, check=True, capture_output=True, timeout=60)
    subprocess.run(cli + ["load-fixtures"], env=env, check=True, capture_output=True, timeout=60)
    doubles = {name: EslDouble("127.0.0.1", PASSWORD, reply=captured(name)) for name in ("router-1", "media-1", "media-2")}
    try:
        for name, double in doubles.items():
            subprocess.run(cli + ["esl-password", name, "--address", "127.0.0.1", "--port", str(double.port),
                                  "--password-stdin"], env=env, input=PASSWORD + "\n", text=True, check=True,
                           capture_output=True, timeout=60)
        monitor = subprocess.Popen(cli + ["monitor"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        engine = create_engine(url)
        try:
            deadline = time.monotonic() + 60
            while True:
                with engine.connect() as conn:
                    up = conn.execute(text("SELECT COUNT(*) FROM cluster_node_state WHERE up = 1")).scalar_one()
                if up == 3 and all(d.connections >= 2 for d in doubles.values()):
                    break  # every node answered, and a second round has begun
                assert monitor.poll() is None, monitor.communicate()[0]
                assert time.monotonic() < deadline, "the monitor did not fill the snapshot"
                time.sleep(0.2)
            with engine.connect() as conn:
                assert conn.execute(text("SELECT COUNT(*) FROM cluster_monitor_lease")).scalar_one() == 1
                assert conn.execute(text("SELECT COUNT(*) FROM cluster_registrations")).scalar_one() == 3
        finally:
            monitor.send_signal(signal.SIGTERM)
            output = monitor.communicate(timeout=30)[0]
        assert monitor.returncode == 0, output
        assert "monitoring every 1 s" in output
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM cluster_monitor_lease")).scalar_one() == 0
        engine.dispose()
    finally:
        for double in doubles.values():
            double.close()
