"""Starting and stopping gunicorn for one benchmark configuration, on 127.0.0.1 only."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psutil

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def gunicorn(app: str, port: int, worker_class: str, workers: int, threads: int,
             env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """gunicorn serving `app` on 127.0.0.1:`port` with xmlcurl's gunicorn.conf.py; stopped on exit."""
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "-b", f"127.0.0.1:{port}",
               "-w", str(workers), "-k", worker_class, "--backlog", "2048"]
    if worker_class == "gthread":
        command += ["--threads", str(threads)]
    command.append(app)
    with open(log, "ab") as output:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=output, stderr=output)
    try:
        _wait_ready(port, process)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_ready(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {process.returncode} (see its log)")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on 127.0.0.1:{port} within {timeout:.0f} s")


def worker_rss_mb(process: subprocess.Popen) -> float:
    """The largest resident set of the master's workers, in MB."""
    children = psutil.Process(process.pid).children()
    return max((child.memory_info().rss for child in children), default=0) / 1e6


def cache_lookups(port: int) -> dict[str, float]:
    """The fetch cache's lookups of answers (not of node credentials) by all workers (the bench runs gunicorn
    in multiprocess mode)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    counts = {"hit": 0.0, "shared": 0.0, "miss": 0.0}
    for line in text.splitlines():
        if line.startswith("xmlcurl_cache_lookups_total{") and 'kind="answer"' in line:
            labels, value = line.rsplit(" ", 1)
            for result in counts:
                if f'result="{result}"' in labels:
                    counts[result] += float(value)
    return counts


def post(port: int, body: bytes, authorization: str) -> tuple[int, bytes]:
    """One fetch, as a check before the load (status and body)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/freeswitch", data=body, method="POST", headers={
        "Authorization": authorization, "Content-Type": "application/x-www-form-urlencoded", "Connection": "close"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def workers_cpu_seconds(process: subprocess.Popen) -> float:
    """utime + stime of the master's workers so far (from /proc, through psutil), in seconds."""
    total = 0.0
    for child in psutil.Process(process.pid).children():
        try:
            total += _cpu_seconds(child)
        except psutil.NoSuchProcess:
            pass
    return total


_DATABASE_NAMES = ("mariadbd", "mysqld")


def database_cpu_seconds() -> float | None:
    """utime + stime of the local MariaDB/MySQL server so far, or None when none runs on this machine."""
    for process in psutil.process_iter(["name"]):
        if process.info["name"] in _DATABASE_NAMES:
            try:
                return _cpu_seconds(process)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                return None
    return None
