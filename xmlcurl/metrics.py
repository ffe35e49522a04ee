"""Prometheus metrics of the fetch path, and `GET /metrics` (no credentials, no configuration in labels).

Under gunicorn set PROMETHEUS_MULTIPROC_DIR to an empty directory before start: every worker then
writes its values there and any worker's /metrics sums them (gunicorn.conf.py cleans up after
dead workers). Without it, /metrics shows the answering process only. Fetch counts, latencies and
cache hits are gathered per worker and added every FLUSH_SECONDS (FetchTally).
"""
from __future__ import annotations

import atexit
import datetime as dt
import glob
import logging
import os
import threading
import time
from bisect import bisect_left
from typing import Iterator

from flask import Blueprint, Response, current_app
from prometheus_client import (
    CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

bp = Blueprint("metrics", __name__)
log = logging.getLogger("xmlcurl.metrics")

#: Sections worth a label of their own; anything else a body claims is counted as "other".
SECTIONS = frozenset({"directory", "dialplan", "configuration", "languages", "chatplan", "phrases", "-"})
ROLES = frozenset({"media", "router", "-"})
#: Authentication failure reasons (auth.AuthFailure.reason); a hostname mismatch carries the name.
AUTH_REASONS = frozenset({"no credentials", "unknown node", "wrong secret", "node disabled", "source throttled"})
_RESULTS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 413: "too_large", 503: "unavailable"}

#: Longest a fetch's count and latency wait in the worker before they reach the shared metrics.
FLUSH_SECONDS = 0.25
FETCH_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

FETCHES = Counter("xmlcurl_fetches", "Fetches answered, by section, node role and result",
                  ["section", "role", "result"])
FETCH_SECONDS = Histogram("xmlcurl_fetch_seconds", "Time to answer a fetch", ["section"],
                          buckets=FETCH_BUCKETS)
CACHE_LOOKUPS = Counter("xmlcurl_cache_lookups", "Fetch cache lookups: hit, shared (a miss found current in the "
                        "last-good store the workers share), miss, or stale (served during a DB error); "
                        "kind: answer (an answer or the data behind it), node (a node's credentials) or domain "
                        "(a pinned domain kept for reading its users one by one)",
                        ["result", "kind"])
#: What a cache lookup is for: an answer (or the data it is built from), the asking node's credentials
#: (one per fetch, a hit once the node was seen), or the pinned domain a directory answer that was not
#: cached reads its user against: the last two are counted apart, so the answers' hit rate shows.
CACHE_KINDS = ("answer", "node", "domain")
# Bound once: a fetch counts a lookup several times, and labels() costs a dict lookup and a lock.
CACHE_HIT, CACHE_SHARED, CACHE_MISS, CACHE_STALE = ({kind: CACHE_LOOKUPS.labels(result, kind) for kind in CACHE_KINDS}
                                                    for result in ("hit", "shared", "miss", "stale"))
_LOOKUP_COUNTERS = {"hit": CACHE_HIT, "shared": CACHE_SHARED, "miss": CACHE_MISS}
DATABASE_ERRORS = Counter("xmlcurl_database_errors", "Database errors on the fetch path", ["where"])
AUTH_FAILURES = Counter("xmlcurl_auth_failures", "Fetches refused for their credentials or hostname", ["reason"])
CONFIG_VERSION = Gauge("xmlcurl_config_version", "Configuration version the workers serve (highest)",
                       multiprocess_mode="livemax")
CONFIG_CHANGED = Gauge("xmlcurl_config_changed_timestamp_seconds", "When the served configuration version was made",
                       multiprocess_mode="livemax")
CONFIG_POLLED = Gauge("xmlcurl_config_polled_timestamp_seconds",
                      "When a worker last read the version (the stalest live worker)", multiprocess_mode="livemin")


class FetchTally:
    """Fetch counts, latencies and cache lookups gathered in the worker, added to the metrics in batches.

    In multiprocess mode each inc() or observe() writes a shared memory-mapped file under a lock;
    a warm fetch made four such writes, several per cent of its time. Here it updates one dict;
    a daemon thread adds the batch every `interval`, /metrics adds its own worker's first, and a
    worker adds what is left when it exits.
    """

    def __init__(self, interval: float = FLUSH_SECONDS) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        #: (section, role, result) -> [count, sum of seconds, count per histogram bucket]
        self._fetches: dict[tuple[str, str, str], list] = {}
        #: result ("hit", "shared" or "miss") -> kind -> count
        self._lookups: dict[str, dict[str, int]] = {}
        self._flusher: threading.Thread | None = None
        self._bounds = tuple(FETCH_BUCKETS) + (float("inf"),)

    def add_fetch(self, labels: tuple[str, str, str], seconds: float) -> None:
        """One fetch under (section, role, result) and its latency."""
        with self._lock:
            pending = self._fetches.get(labels)
            if pending is None:
                pending = self._fetches[labels] = [0, 0.0, [0] * len(self._bounds)]
            pending[0] += 1
            pending[1] += seconds
            # A bucket counts the values up to and including its bound, as Histogram.observe does.
            pending[2][bisect_left(self._bounds, seconds)] += 1
        if self._flusher is None:
            self._start_flusher()

    def add_lookups(self, lookups: dict[str, dict[str, int]]) -> None:
        """The cache lookups of one fetch: result ("hit", "shared" or "miss") -> kind (CACHE_KINDS) -> count."""
        with self._lock:
            for result, counts in lookups.items():
                pending = self._lookups.setdefault(result, {})
                for kind, count in counts.items():
                    if count:
                        pending[kind] = pending.get(kind, 0) + count
        if self._flusher is None:
            self._start_flusher()

    def flush(self) -> None:
        """Add everything gathered so far to the metrics."""
        with self._lock:
            fetches, self._fetches = self._fetches, {}
            lookups, self._lookups = self._lookups, {}
        for (section, role, result), (count, total, buckets) in fetches.items():
            FETCHES.labels(section, role, result).inc(count)
            histogram = FETCH_SECONDS.labels(section)
            # prometheus_client has no bulk observe: add to the child's bucket and sum values, the
            # same ones observe() adds to (a test compares the two expositions).
            histogram._sum.inc(total)
            for bucket, n in zip(histogram._buckets, buckets):
                if n:
                    bucket.inc(n)
        for result, counts in lookups.items():
            bound = _LOOKUP_COUNTERS[result]
            for kind, count in counts.items():
                bound[kind].inc(count)

    def _start_flusher(self) -> None:
        with self._lock:
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(target=self._flush_every_interval, name="metrics-flush", daemon=True)
        self._flusher.start()

    def _flush_every_interval(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - a failed write must not end the worker's metrics for good
                log.exception("adding the fetch metrics failed; trying again in %.2f s", self.interval)

    def forget_flusher(self) -> None:
        """In a forked child: the parent's thread did not come along, the next fetch starts one."""
        self._lock = threading.Lock()
        self._fetches, self._lookups, self._flusher = {}, {}, None


TALLY = FetchTally()
os.register_at_fork(after_in_child=TALLY.forget_flusher)
atexit.register(TALLY.flush)


def observe_fetch(section: str, role: str, status: int, not_found: bool, seconds: float) -> None:
    """Count one fetch and its latency under bounded labels."""
    section = section if section in SECTIONS else "other"
    role = role if role in ROLES else "-"
    result = ("not_found" if not_found else "answer") if status == 200 else _RESULTS.get(status, str(status))
    TALLY.add_fetch((section, role, result), seconds)


def observe_auth_failure(status: int, reason: str) -> None:
    AUTH_FAILURES.labels(reason if reason in AUTH_REASONS else ("hostname mismatch" if status == 403 else "other")).inc()


def observe_poll(version: int, changed_at: dt.datetime | None) -> None:
    """A successful version poll (changed_at is the database's UTC time)."""
    CONFIG_VERSION.set(version)
    if changed_at is not None:
        CONFIG_CHANGED.set(changed_at.replace(tzinfo=dt.timezone.utc).timestamp())
    CONFIG_POLLED.set(time.time())


class _VersionAge(Collector):
    """Seconds since the served configuration version was made, from this worker's cache, at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from .fetch.cache import fetch_cache

        cache = fetch_cache()
        family = GaugeMetricFamily("xmlcurl_config_version_age_seconds",
                                   "Seconds since the served configuration version was made (answering worker)")
        if cache is not None and cache.changed_at is not None:
            changed = cache.changed_at.replace(tzinfo=dt.timezone.utc).timestamp()
            family.add_metric([], max(time.time() - changed, 0.0))
        yield family


class _SettledFiles(multiprocess.MultiProcessCollector):
    """The workers' metric files, without one a worker is still creating (0 bytes): prometheus_client
    fails reading such a file (struct.error), so a scrape right after a worker started answered 500."""

    def collect(self):
        files = []
        for path in glob.glob(os.path.join(self._path, "*.db")):
            try:
                if os.path.getsize(path) > 0:
                    files.append(path)
            except OSError:  # retired (removed) between listing and reading
                continue
        return self.merge(files, accumulate=True)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus exposition: every worker's counters in multiprocess mode, this process's otherwise."""
    TALLY.flush()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _SettledFiles(registry)
    else:
        registry = REGISTRY
    local = CollectorRegistry(auto_describe=False)
    local.register(_VersionAge())
    if current_app.config["XMLCURL"]["MONITOR_METRICS"]:
        from .monitor.metrics import ClusterCollector

        local.register(ClusterCollector())
    body = generate_latest(registry) + generate_latest(local)
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})
