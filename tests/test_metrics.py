"""/metrics and /readyz: counters that move with the fetches, readiness that says degraded when only the cache serves."""
from __future__ import annotations

import os
import runpy
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.conftest import cluster_body, make_body, retarget
from xmlcurl import metrics
from xmlcurl.db import FetchReader
from xmlcurl.fetch.cache import fetch_cache
from xmlcurl.secrets import sip_a1_hash

ROOT = Path(__file__).resolve().parent.parent
SIP_AUTH = "media-1_directory_sip_auth_acme-1000"


def sample(name: str, **labels: str) -> float:
    """A metric's value once this process's gathered fetches are added (as /metrics does first)."""
    metrics.TALLY.flush()
    return REGISTRY.get_sample_value(name, labels) or 0.0


def unflushed(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _database_down(monkeypatch) -> None:
    def down(*_args, **_kwargs):
        raise OperationalError("SELECT", {}, Exception("database went away"))

    for name in ("execute", "scalars", "scalar"):
        monkeypatch.setattr(Session, name, down)
    monkeypatch.setattr(Connection, "execute", down)
    monkeypatch.setattr(FetchReader, "execute", down)  # the fetch path's reads (text() goes to the driver)


def test_fetches_are_counted_by_section_role_and_result(fetch):
    answered = sample("xmlcurl_fetches_total", section="directory", role="media", result="answer")
    missing = sample("xmlcurl_fetches_total", section="directory", role="router", result="not_found")
    timed = sample("xmlcurl_fetch_seconds_count", section="directory")
    assert fetch(cluster_body(SIP_AUTH)).status_code == 200
    assert fetch(retarget(cluster_body(SIP_AUTH), hostname="router-1"), node="router-1").status_code == 200
    assert sample("xmlcurl_fetches_total", section="directory", role="media", result="answer") == answered + 1
    assert sample("xmlcurl_fetches_total", section="directory", role="router", result="not_found") == missing + 1
    assert sample("xmlcurl_fetch_seconds_count", section="directory") == timed + 2


def test_auth_failures_are_counted_under_a_few_fixed_reasons(fetch):
    wrong = sample("xmlcurl_auth_failures_total", reason="wrong secret")
    mismatch = sample("xmlcurl_auth_failures_total", reason="hostname mismatch")
    unauthorized = sample("xmlcurl_fetches_total", section="-", role="-", result="unauthorized")
    assert fetch(cluster_body(SIP_AUTH), secret="nope").status_code == 401
    assert fetch(retarget(cluster_body(SIP_AUTH), hostname="media-2")).status_code == 403
    assert sample("xmlcurl_auth_failures_total", reason="wrong secret") == wrong + 1
    assert sample("xmlcurl_auth_failures_total", reason="hostname mismatch") == mismatch + 1
    assert sample("xmlcurl_fetches_total", section="-", role="-", result="unauthorized") == unauthorized + 1


def test_a_section_name_from_the_body_never_becomes_a_label(fetch):
    before = sample("xmlcurl_fetches_total", section="other", role="media", result="not_found")
    assert fetch(make_body("media-1", "made_up_section")).status_code == 200
    assert sample("xmlcurl_fetches_total", section="other", role="media", result="not_found") == before + 1


def test_cache_hits_and_misses_and_the_config_version_are_exported(app, fetch, client):
    misses = sample("xmlcurl_cache_lookups_total", result="miss", kind="answer")
    fetch(cluster_body(SIP_AUTH))
    hits = {kind: sample("xmlcurl_cache_lookups_total", result="hit", kind=kind) for kind in ("answer", "node")}
    fetch(cluster_body(SIP_AUTH))
    assert sample("xmlcurl_cache_lookups_total", result="miss", kind="answer") > misses
    # The second fetch: its node's credentials and its user's answer, each counted as what it is.
    assert sample("xmlcurl_cache_lookups_total", result="hit", kind="answer") == hits["answer"] + 1
    assert sample("xmlcurl_cache_lookups_total", result="hit", kind="node") == hits["node"] + 1
    text = client.get("/metrics").get_data(as_text=True)
    assert f"xmlcurl_config_version {float(fetch_cache(app).version)}" in text
    assert "xmlcurl_config_version_age_seconds " in text
    assert "xmlcurl_config_changed_timestamp_seconds " in text


def test_metrics_need_no_credentials_and_reveal_no_configuration(fetch, client):
    fetch(cluster_body(SIP_AUTH))
    response = client.get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    text = response.get_data(as_text=True)
    a1_hash = sip_a1_hash("1000", "acme.example.com", "pw-acme-1000")
    for secret_or_config in ("acme", "example.com", "media-1", "127.0.0.", "-secret", "argon2", a1_hash):
        assert secret_or_config not in text


def test_metrics_show_a_fetch_made_just_before_the_scrape(fetch, client):
    def answered(text: str) -> float:
        prefix = 'xmlcurl_fetches_total{result="answer",role="media",section="directory"} '
        return next(float(line[len(prefix):]) for line in text.splitlines() if line.startswith(prefix))

    fetch(cluster_body(SIP_AUTH))
    before = answered(client.get("/metrics").get_data(as_text=True))
    assert fetch(cluster_body(SIP_AUTH)).status_code == 200
    assert answered(client.get("/metrics").get_data(as_text=True)) == before + 1


def test_gathered_fetches_reach_the_metrics_within_the_flush_interval_without_a_scrape():
    labels = {"section": "directory", "role": "media", "result": "answer"}
    metrics.TALLY.flush()
    before = unflushed("xmlcurl_fetches_total", **labels)
    metrics.observe_fetch("directory", "media", 200, False, 0.0004)
    deadline = time.monotonic() + 10 * metrics.TALLY.interval + 2
    while unflushed("xmlcurl_fetches_total", **labels) == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert unflushed("xmlcurl_fetches_total", **labels) == before + 1


def test_cache_lookups_of_a_fetch_are_gathered_and_added_by_result_and_kind():
    labels = [("hit", "answer"), ("miss", "answer"), ("miss", "domain"), ("shared", "answer")]
    metrics.TALLY.flush()
    before = {(r, k): unflushed("xmlcurl_cache_lookups_total", result=r, kind=k) for r, k in labels}
    metrics.TALLY.add_lookups({"hit": {"answer": 2, "node": 0}, "miss": {"answer": 1, "domain": 3},
                               "shared": {"answer": 4}})
    metrics.TALLY.flush()
    added = {(r, k): unflushed("xmlcurl_cache_lookups_total", result=r, kind=k) - before[r, k] for r, k in labels}
    assert added == {("hit", "answer"): 2, ("miss", "answer"): 1, ("miss", "domain"): 3, ("shared", "answer"): 4}


def test_batched_latencies_give_the_histogram_observe_would_give():
    values = [0.0, 0.0001, 0.0005, 0.00050001, 0.001, 0.0049, 0.025, 0.3, 1.0, 2.5, 2.6, 40.0]
    expected_registry, batched_registry = CollectorRegistry(), CollectorRegistry()
    expected = Histogram("x", "x", ["section"], buckets=metrics.FETCH_BUCKETS, registry=expected_registry)
    for value in values:
        expected.labels("dialplan").observe(value)
    batched = Histogram("x", "x", ["section"], buckets=metrics.FETCH_BUCKETS, registry=batched_registry)
    tally = metrics.FetchTally()
    for value in values:
        tally.add_fetch(("dialplan", "router", "answer"), value)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(metrics, "FETCH_SECONDS", batched)
        tally.flush()

    def exposition(registry: CollectorRegistry) -> list[str]:
        return [line for line in generate_latest(registry).decode().splitlines() if not line.startswith("x_created")]

    assert exposition(batched_registry) == exposition(expected_registry)


def test_the_flusher_goes_on_after_a_failed_flush(monkeypatch):
    tally = metrics.FetchTally(interval=0.01)
    calls = []
    done = threading.Event()

    def flaky_flush() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("metrics file went away")
        done.set()

    monkeypatch.setattr(tally, "flush", flaky_flush)
    tally.add_lookups({"hit": {"answer": 1}, "miss": {}})
    assert done.wait(5) and len(calls) >= 2


def test_a_forked_worker_starts_its_own_flusher_and_carries_no_parent_counts():
    metrics.observe_fetch("dialplan", "router", 200, False, 0.001)  # the parent now has a flusher and a count
    assert metrics.TALLY._flusher is not None
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child (a gunicorn worker): report what it inherited, exit without pytest's teardown
        os.write(write, b"%d %d" % (metrics.TALLY._flusher is None, len(metrics.TALLY._fetches)))
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 16) == b"1 0"
    os.close(read)
    os.close(write)


def test_database_errors_are_counted(fetch, monkeypatch):
    before = sample("xmlcurl_database_errors_total", where="fetch") + sample("xmlcurl_database_errors_total",
                                                                            where="version poll")
    _database_down(monkeypatch)
    assert fetch(cluster_body(SIP_AUTH)).status_code == 503
    after = sample("xmlcurl_database_errors_total", where="fetch") + sample("xmlcurl_database_errors_total",
                                                                           where="version poll")
    assert after >= before + 2


# --- readiness -------------------------------------------------------------------------------

def test_ready_when_the_database_answers_and_the_version_is_fresh(client):
    body = client.get("/readyz").get_json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["cache"] == "on"
    assert body["version_read_seconds_ago"] is not None


def test_degraded_but_serving_when_the_database_is_down_and_the_cache_is_warm(fetch, client, monkeypatch):
    assert fetch(cluster_body(SIP_AUTH)).status_code == 200
    _database_down(monkeypatch)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "degraded" and response.get_json()["database"] == "unreachable"
    assert fetch(cluster_body(SIP_AUTH)).status_code == 200


def test_unavailable_when_the_database_is_down_and_nothing_is_cached(client, monkeypatch):
    _database_down(monkeypatch)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json()["status"] == "unavailable"


def test_recovers_alone_when_the_database_returns(fetch, client, monkeypatch):
    fetch(cluster_body(SIP_AUTH))
    with monkeypatch.context() as patch:
        _database_down(patch)
        assert client.get("/readyz").get_json()["status"] == "degraded"
    assert client.get("/readyz").get_json()["status"] == "ok"


# --- multiprocess mode (gunicorn) ----------------------------------------------------------

MULTIPROCESS_SCRIPT = textwrap.dedent("""
    import shutil, sys
    from tests.conftest import BASE_SETTINGS, basic_auth, cluster_body
    from xmlcurl import create_app
    shutil.copy(sys.argv[1], sys.argv[2])
    app = create_app({**BASE_SETTINGS, "DATABASE_URL": "sqlite:///" + sys.argv[2]})
    client = app.test_client()
    for _ in range(3):
        client.post("/freeswitch", data=cluster_body("media-1_directory_sip_auth_acme-1000"),
                    headers=basic_auth("media-1", "media-1-secret"), content_type="application/x-www-form-urlencoded")
    if sys.argv[3] == "scrape":
        sys.stdout.write(client.get("/metrics").get_data(as_text=True))
""")


def test_multiprocess_mode_sums_what_every_process_wrote(tmp_path, sqlite_template):
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "PYTHONPATH": str(ROOT)}
    outputs = []
    # The middle process never scrapes: what it gathered is added to the shared files when it exits.
    for run, mode in enumerate(("scrape", "exit quietly", "scrape")):
        result = subprocess.run([sys.executable, "-c", MULTIPROCESS_SCRIPT, str(sqlite_template),
                                 str(tmp_path / f"db{run}.sqlite3"), mode], env=env, cwd=ROOT, capture_output=True,
                                text=True, timeout=60, check=True)
        outputs.append(result.stdout)
    assert list(metrics_dir.glob("counter_*.db"))

    def fetches(text: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("xmlcurl_fetches_total{"))

    assert fetches(outputs[0]) == 3
    assert fetches(outputs[2]) == 9  # the last process sees both earlier ones' counts too


def test_gunicorn_config_retires_a_dead_workers_live_gauges_and_clears_old_files(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    (tmp_path / "counter_1.db").write_bytes(b"")
    conf["on_starting"](None)
    assert not list(tmp_path.glob("*.db"))
    (tmp_path / "gauge_livemax_4242.db").write_bytes(b"")
    (tmp_path / "gauge_livemin_4242.db").write_bytes(b"")
    conf["child_exit"](None, SimpleNamespace(pid=4242))
    assert not list(tmp_path.glob("gauge_live*_4242.db"))
    assert conf["workers"] == 2 and conf["bind"] == ["127.0.0.1:8080"]


def test_a_scrape_while_a_worker_is_still_creating_its_metrics_file_is_answered(client, tmp_path, monkeypatch):
    # A worker that has just started has created its file but not sized it yet: prometheus_client
    # cannot read a 0-byte file, and the whole scrape used to fail with 500.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "counter_4242.db").write_bytes(b"")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"xmlcurl_config_version_age_seconds" in response.data


@pytest.mark.parametrize("path", ["/metrics", "/readyz", "/healthz"])
def test_observability_endpoints_are_not_fetch_endpoints(client, path):
    assert client.post(path).status_code == 405
