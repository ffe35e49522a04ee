"""gunicorn settings for xmlcurl: `gunicorn -c gunicorn.conf.py wsgi:app` (command-line flags override these).

For /metrics across workers, export PROMETHEUS_MULTIPROC_DIR=<an empty directory the service
owns> before starting gunicorn: the workers write their metrics there, the files of a previous
run are removed at start, and those of a dead worker are retired when it exits.
"""
import os
from pathlib import Path

# Imported here, not in child_exit: gunicorn runs child_exit from its SIGCHLD handler, and a second
# worker's exit during the first import re-entered the handler with the module half loaded
# (AttributeError: partially initialized module, and the master exited 1 on a plain SIGTERM).
from prometheus_client import multiprocess

bind = ["127.0.0.1:8080"]
workers = 2
# FreeSWITCH waits on every fetch: never let a stuck request hold a worker for long.
timeout = 30
graceful_timeout = 10


def on_starting(server):
    """Clear the metrics files of a previous run (their counters would be summed with ours)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()


def child_exit(server, worker):
    """Retire a dead worker's live gauges so they no longer count as a serving worker."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
