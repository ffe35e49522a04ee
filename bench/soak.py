"""`python -m bench.soak`: a bounded soak of xmlcurl under gunicorn + MariaDB, on 127.0.0.1 only.

Drives every served case mixed together at high concurrency (256 connections by default, a new
TCP connection per request as mod_xml_curl does) for a fixed time, in segments; after each segment
it samples the workers' resident memory. Reports requests, errors (socket errors and non-2xx) and
RSS at start and end; exits 1 if any request failed.
"""
from __future__ import annotations

import argparse
import random
import secrets
import tempfile
import time
from pathlib import Path

import psutil

from . import wrk
from .bodies import CAPTURES
from .dataset import prepare_from_arguments
from .options import add_dataset_arguments
from .run import served_cases
from .server import gunicorn, post


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    add_dataset_arguments(parser, "SOAK_DATABASE_URL", "xmlcurl_soak", dict(
        tenants=100, users=10_000, routes=2000, dids=1000, routers=2, media=10, gateways=10))
    parser.add_argument("--duration", type=int, default=300, help="seconds of measured load")
    parser.add_argument("--segment", type=int, default=30, help="seconds between memory samples")
    parser.add_argument("--warmup", type=int, default=10, help="seconds of load before the start sample")
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--bodies", type=int, default=2000, help="distinct request bodies per case")
    parser.add_argument("--cases", default=",".join(CAPTURES))
    parser.add_argument("--port", type=int, default=18090)
    return parser.parse_args(argv)


def workers_rss_mb(process) -> list[float]:
    """Resident memory of each gunicorn worker, in MB (sorted by pid)."""
    children = sorted(psutil.Process(process.pid).children(), key=lambda child: child.pid)
    return [round(child.memory_info().rss / 1e6, 1) for child in children]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk.check_wrk()
    cases, skipped = served_cases(args.cases.split(","))
    _, by_case = prepare_from_arguments(args, cases)
    mixed = [request for case in cases for request in by_case[case]]
    random.Random(11).shuffle(mixed)
    workdir = Path(tempfile.mkdtemp(prefix="xmlcurl-soak-"))
    env = {"XMLCURL_DATABASE_URL": args.database_url, "XMLCURL_ENV": "production",
           "XMLCURL_SECRET_KEY": secrets.token_urlsafe(48), "XMLCURL_LOG_LEVEL": "WARNING",
           "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics")}
    log = workdir / "gunicorn.log"
    print(f"cases: {', '.join(cases)} ({len(mixed)} bodies); not served yet: {', '.join(skipped) or 'none'}")
    print(f"gunicorn {args.worker_class} x{args.workers} (threads {args.threads}), wrk -c{args.connections}, "
          f"{args.duration} s in {args.segment} s segments; log {log}", flush=True)
    with gunicorn("wsgi:app", args.port, args.worker_class, args.workers, args.threads, env, log) as process:
        bad = [(status, body[:80]) for status, body in (post(args.port, r.body, r.authorization) for r in mixed[:50])
               if status != 200]
        if bad:
            print(f"sample fetches failed before the soak: {bad[:3]}")
            return 1
        wrk.run(args.port, mixed, args.warmup, args.connections, args.wrk_threads, workdir)
        start_rss = workers_rss_mb(process)
        print(f"RSS at start (after {args.warmup} s warm-up), MB per worker: {start_rss}", flush=True)
        requests = errors = 0
        started = time.monotonic()
        samples = []
        while time.monotonic() - started < args.duration:
            seconds = max(1, min(args.segment, int(args.duration - (time.monotonic() - started))))
            load = wrk.run(args.port, mixed, seconds, args.connections, args.wrk_threads, workdir)
            requests += load.requests
            errors += load.errors
            rss = workers_rss_mb(process)
            samples.append(rss)
            print(f"{time.monotonic() - started:6.0f} s: {load.requests_per_second:7.0f} req/s p50 {load.p50_ms:.1f} ms "
                  f"p99 {load.p99_ms:.1f} ms errors {load.errors}; RSS MB {rss}", flush=True)
        elapsed = time.monotonic() - started
        end_rss = workers_rss_mb(process)
    growth = [round(100 * (end - start) / start, 1) for start, end in zip(start_rss, end_rss)]
    print()
    print(f"soak: {requests} requests in {elapsed:.0f} s ({requests / elapsed:.0f} req/s) at {args.connections} "
          f"connections, {errors} errors; RSS MB per worker at start {start_rss}, at end {end_rss} "
          f"(change {growth} %)")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
