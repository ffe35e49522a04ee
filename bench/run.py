"""`python -m bench`: xmlcurl under gunicorn against the framework floor, driven by wrk on this machine.

Builds the data set with the generator in MariaDB, then for each worker class and case starts the
floor app and xmlcurl in each mode (warm, cold, churn, spread) with the same gunicorn settings, drives each with the
case's bodies through wrk (a new connection per request, as mod_xml_curl does) and prints the
table; Markdown and JSON go to bench/results/.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path

from xmlcurl.fetch.registry import handler_for, load_handlers
from xmlcurl.fetch.xmldoc import NOT_FOUND

from . import wrk
from .churn import churn
from .dataset import prepare_from_arguments, spread_requests
from .options import parse_args
from .server import cache_lookups, database_cpu_seconds, gunicorn, post, worker_rss_mb, workers_cpu_seconds

RESULTS = Path(__file__).resolve().parent / "results"
#: Case -> (role, section) whose handler must exist for the case to run.
NEEDS = {
    "directory sip_auth": ("media", "directory"),
    "media dialplan": ("media", "dialplan"),
    "router dialplan": ("router", "dialplan"),
    "sofia.conf": ("media", "configuration"),
    "acl.conf": ("router", "configuration"),
}

#: Mode -> (XMLCURL_CACHE, churn writer (kind, changes per second) or None). `spread` runs only the
#: directory case, with bodies for users drawn uniformly from the whole data set.
MODES = {
    "warm": ("on", None),
    "cold": ("off", None),
    "churn-tenants": ("on", ("tenants", 10.0)),
    "churn-routes": ("on", ("routes", 1.0)),
    "spread": ("on", None),
    "spread-filled": ("on", None),
    "one-select": ("off", None),
}
#: Modes that measure another server than xmlcurl, on the directory case only (bench/one_select.py).
REFERENCE_APPS = {"one-select": "bench.one_select:app"}
#: Modes that draw their bodies from the whole data set (--spread-users).
SPREAD = {"spread", "spread-filled"}
#: Modes that run only the directory case.
DIRECTORY_ONLY = {*SPREAD, *REFERENCE_APPS}


def served_cases(requested: list[str]) -> tuple[list[str], list[str]]:
    load_handlers()
    served = [c for c in requested if handler_for(*NEEDS[c]) is not None]
    return served, [c for c in requested if c not in served]


def check_answers(port: int, requests) -> tuple[float, str]:
    """Share of sampled fetches that got a real answer (not `not found`), and one status problem if any."""
    sample = requests[:50]
    answered, problem = 0, ""
    for request in sample:
        status, body = post(port, request.body, request.authorization)
        if status != 200:
            problem = problem or f"HTTP {status}: {body[:80]!r}"
        elif body != NOT_FOUND:
            answered += 1
    return answered / len(sample), problem


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    wrk.check_wrk()
    cases, skipped = served_cases(args.cases.split(","))
    options, requests = prepare_from_arguments(args, cases)
    RESULTS.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="xmlcurl-bench-"))
    log = RESULTS / "gunicorn.log"
    # Every generated node fetches from 127.0.0.1 here, one source for the limiter of argon2 work
    # (in production each node has its own address): each worker may verify every node's secret once.
    base_env = {"XMLCURL_DATABASE_URL": args.database_url, "XMLCURL_ENV": "production",
                "XMLCURL_AUTH_VERIFY_BURST": str(4 * (args.media + args.routers)),
                "XMLCURL_SECRET_KEY": secrets.token_urlsafe(48), "XMLCURL_LOG_LEVEL": "WARNING",
                # The run's own last-good store, kept across its server starts as an instance keeps it
                # across restarts. The instance directory's would be shared by every data set benched on
                # this checkout: a worker whose first fetch failed (a slow start) served another data
                # set's answer from it, and its file grew from run to run.
                "XMLCURL_LAST_GOOD_DIR": str(workdir / "last-good")}
    rows = []
    floor_port = args.port + 1

    def load(port: int, case_requests, seconds: int | None = None, keepalive: bool = False) -> wrk.Load:
        return wrk.run(port, case_requests, args.duration if seconds is None else seconds, args.connections,
                       args.wrk_threads, workdir, keepalive=keepalive)

    def measured(port: int, process, case_requests, cpu: dict) -> wrk.Load:
        """One load, adding the workers' and the database server's CPU seconds it cost to `cpu`."""
        workers, database = workers_cpu_seconds(process), database_cpu_seconds()
        result = load(port, case_requests)
        cpu["workers"] += workers_cpu_seconds(process) - workers
        if database is not None:
            cpu["database"] += (database_cpu_seconds() or database) - database
        cpu["requests"] += result.requests
        return result

    def measure(worker_class: str, case: str, mode: str, case_requests, floor_process, process) -> tuple[dict, dict]:
        """Rounds of floor then xmlcurl, back to back: a slower or faster spell of the machine hits both."""
        cache, writer = MODES[mode]
        cached = cache != "off"
        warm_up(args.port, case_requests, cached and mode not in SPREAD)
        load(floor_port, case_requests, args.warmup)
        before = cache_lookups(args.port) if cached else None
        floor_loads, loads = [], []
        floor_cpu = {"workers": 0.0, "database": 0.0, "requests": 0}
        cpu = dict(floor_cpu)
        served = {r.tenant_id for r in case_requests} if writer else set()
        # The writer starts after the warm-up: what is measured is a warm cache meeting the changes.
        with churn(args.database_url, writer[0], served, writer[1]) if writer else nullcontext({"writes": 0}) as writes:
            for _ in range(args.rounds):
                floor_loads.append(measured(floor_port, floor_process, case_requests, floor_cpu))
                loads.append(measured(args.port, process, case_requests, cpu))
        extra = {"worker_class": worker_class, "case": case}
        floor_row = {"server": "floor", "cache": "-", **extra, **_median(floor_loads), **_cpu(floor_cpu),
                     "rss_mb": round(worker_rss_mb(floor_process), 1), "rps_vs_floor": 1.0, "p99_vs_floor": 1.0}
        server = mode if mode in REFERENCE_APPS else "xmlcurl"
        row = {"server": server, "cache": mode, **extra, **_median(loads), **_cpu(cpu), "writes": writes["writes"],
               "rss_mb": round(worker_rss_mb(process), 1),
               "floor_rps": floor_row["requests_per_second"], "floor_p99_ms": floor_row["p99_ms"],
               **paired_ratios(floor_loads, loads)}
        if before is not None:
            after = cache_lookups(args.port)
            hits, shared, misses = (after[result] - before[result] for result in ("hit", "shared", "miss"))
            total = hits + shared + misses
            # A lookup the last-good store answered is a hit: the answer did not come from the database.
            row["cache_hit_ratio"] = round((hits + shared) / total, 4) if total else None
            row["cache_shared_ratio"] = round(shared / total, 4) if total else None
        if args.keepalive:
            row["keepalive_rps"] = load(args.port, case_requests, keepalive=True).requests_per_second
            floor_row["keepalive_rps"] = load(floor_port, case_requests, keepalive=True).requests_per_second
        return floor_row, row

    def warm_up(port: int, case_requests, cached: bool) -> None:
        """Load until under 0.1% of cache lookups miss (at most 12 rounds), so `cache on` measures a warm cache."""
        for _ in range(12 if cached else 1):
            before = cache_lookups(port) if cached else None
            load(port, case_requests, args.warmup)
            if before is None:
                return
            after = cache_lookups(port)
            lookups = sum(after.values()) - sum(before.values())
            if lookups and (after["miss"] - before["miss"]) / lookups < 0.001:
                return

    # The floor parses each case's own bodies (its cost grows with the body) and answers a constant
    # document; it is measured in rounds alternating with xmlcurl on the same case.
    modes = args.modes.split(",")
    if args.cache:
        modes = [{"on": "warm", "off": "cold"}.get(setting, setting) for setting in args.cache.split(",")]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise SystemExit(f"unknown modes: {', '.join(unknown)} (known: {', '.join(MODES)})")
    if {"spread", "spread-filled"} <= set(modes) and modes.index("spread-filled") < modes.index("spread"):
        raise SystemExit("list spread before spread-filled: the run keeps one last-good store, and spread after "
                         "the fill would measure a filled store too")
    spread = None
    if SPREAD & set(modes):
        from sqlalchemy import create_engine

        engine = create_engine(args.database_url)
        try:
            spread = spread_requests(engine, args.spread_users)
        finally:
            engine.dispose()
        print(f"spread: {len(spread)} distinct users of {options.users}", flush=True)
    for worker_class in args.worker_classes.split(","):
        for case in cases:
            with gunicorn("bench.floor:app", floor_port, worker_class, args.workers, args.threads, {},
                          log) as floor_process:
                case_modes = [m for m in modes if m not in DIRECTORY_ONLY or case == "directory sip_auth"]
                for index, mode in enumerate(case_modes):
                    case_requests = spread if mode in SPREAD else requests[case]
                    if mode == "churn-tenants":
                        # Half the tenants are asked about; the writer changes the other half's rows.
                        case_requests = [r for r in case_requests if r.tenant_id % 2 == 0]
                    metrics_dir = Path(tempfile.mkdtemp(prefix="metrics-", dir=workdir))
                    env = {**base_env, "XMLCURL_CACHE": MODES[mode][0], "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                           "XMLCURL_CACHE_MAX_BYTES": str(args.cache_max_mb * 1024 * 1024)}
                    with gunicorn(REFERENCE_APPS.get(mode, "wsgi:app"), args.port, worker_class, args.workers,
                                  args.threads, env, log) as process:
                        filled = fill_store({**base_env, **env}) if mode == "spread-filled" else None
                        answered, problem = check_answers(args.port, case_requests)
                        floor_row, row = measure(worker_class, case, mode, case_requests, floor_process, process)
                    row.update(answered=answered, problem=problem)
                    if filled is not None:
                        row["fill_seconds"] = filled
                    if index == 0:  # the table shows the floor measured beside the first setting
                        print(_line(floor_row), flush=True)
                        rows.append(floor_row)
                    print(_line(row), flush=True)
                    rows.append(row)
    meta = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "cpu": _cpu_model(), "python": platform.python_version(),
                    "system": platform.platform()},
        "data_set": asdict(options),
        "settings": {k: getattr(args, k) for k in ("duration", "rounds", "connections", "wrk_threads", "workers",
                                                   "threads", "bodies", "spread_users", "cache_max_mb")},
        "skipped_cases": skipped,
    }
    markdown = render_markdown(rows, meta)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for name in (f"bench-{stamp}", "latest"):
        (RESULTS / f"{name}.md").write_text(markdown, encoding="utf-8")
        (RESULTS / f"{name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2), encoding="utf-8")
    print()
    print(markdown)
    # wrk's scripts and rows, the metrics files and the last-good store (hundreds of MB after a spread).
    shutil.rmtree(workdir, ignore_errors=True)


def fill_store(env: dict) -> float:
    """Run `xmlcurl fill-store` for the running server's database and store, as a deployment does; its seconds."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "xmlcurl.cli", "fill-store", "--quiet"], env={**os.environ, **env},
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"xmlcurl fill-store failed: {done.stderr.strip() or done.stdout.strip()}")
    seconds = time.perf_counter() - began
    print(f"{done.stdout.strip()} ({seconds:.0f} s with the start)", flush=True)
    return round(seconds, 1)


def _cpu(cpu: dict) -> dict:
    """Server CPU per request: the gunicorn workers' and the database server's utime + stime, in ms."""
    requests = cpu["requests"] or 1
    return {"cpu_ms_per_request": round((cpu["workers"] + cpu["database"]) * 1000 / requests, 3),
            "db_cpu_ms_per_request": round(cpu["database"] * 1000 / requests, 3)}


def _median(loads: list) -> dict:
    """The median of each figure over the rounds (errors and requests summed)."""
    return {
        "requests_per_second": round(statistics.median(x.requests_per_second for x in loads), 1),
        "p50_ms": round(statistics.median(x.p50_ms for x in loads), 2),
        "p99_ms": round(statistics.median(x.p99_ms for x in loads), 2),
        "errors": sum(x.errors for x in loads),
        "requests": sum(x.requests for x in loads),
        "rounds": len(loads),
    }


def paired_ratios(floor_loads: list, loads: list) -> dict:
    """xmlcurl against the floor, round by round, and the median of those ratios.

    A round of xmlcurl follows its round of the floor within seconds, so a slow or fast spell of a
    shared machine touches both; the median of the pairs then holds steadier than the ratio of
    two medians taken over different spells. The spread (lowest, highest) is kept beside it.
    """
    rps = [x.requests_per_second / f.requests_per_second for f, x in zip(floor_loads, loads) if f.requests_per_second]
    p99 = [x.p99_ms / f.p99_ms for f, x in zip(floor_loads, loads) if f.p99_ms]
    return {
        "rps_vs_floor": round(statistics.median(rps), 2) if rps else None,
        "rps_vs_floor_range": [round(min(rps), 2), round(max(rps), 2)] if rps else None,
        "p99_vs_floor": round(statistics.median(p99), 2) if p99 else None,
        "p99_vs_floor_range": [round(min(p99), 2), round(max(p99), 2)] if p99 else None,
    }


def _line(row: dict) -> str:
    hits = f" hits={_hits(row)}" if row.get("cache_hit_ratio") is not None else ""
    ratio = f" x{row['rps_vs_floor']}" if row["server"] != "floor" else ""
    return (f"{row['worker_class']:8} {row['server']:8} {row['cache']:13} {row['case']:20} "
            f"{row['requests_per_second']:8.0f} req/s{ratio} p50={row['p50_ms']:.2f} ms p99={row['p99_ms']:.2f} ms "
            f"cpu={row['cpu_ms_per_request']:.2f} ms/req (db {row['db_cpu_ms_per_request']:.2f}) "
            f"errors={row['errors']} rss={row['rss_mb']} MB{hits}")


def _hits(row: dict) -> str:
    """The hit rate, with the share the last-good store answered when it answered any."""
    shared = row.get("cache_shared_ratio") or 0
    return f"{row['cache_hit_ratio']:.1%}" + (f" ({shared:.1%} shared)" if shared >= 0.0005 else "")


def render_markdown(rows: list[dict], meta: dict) -> str:
    m = meta["machine"]
    lines = [
        f"Benchmark {meta['when']} on {m['cpus']} CPUs ({m['cpu']}), Python {m['python']}; "
        f"wrk and gunicorn on the same machine, {meta['settings']['connections']} connections, "
        f"a new TCP connection per request, {meta['settings']['rounds']} rounds of "
        f"{meta['settings']['duration']} s per case alternating floor and xmlcurl (medians shown; the ratios "
        "are medians of each round's xmlcurl/floor, with their range), "
        f"{meta['settings']['workers']} workers (gthread: {meta['settings']['threads']} threads).",
        "",
        "Data set: " + ", ".join(f"{k}={v}" for k, v in meta["data_set"].items() if k not in ("batch", "seed")),
        "",
        "| worker | server | mode | case | req/s | p50 ms | p99 ms | errors | RSS MB/worker | req/s vs floor "
        "| p99 vs floor | server CPU ms/req (db) | answered | cache hits | writes |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        answered = f"{r['answered']:.0%}" if "answered" in r else "-"
        hit_ratio = _hits(r) if r.get("cache_hit_ratio") is not None else "-"
        lines.append(
            f"| {r['worker_class']} | {r['server']} | {r['cache']} | {r['case']} | {r['requests_per_second']:.0f} "
            f"| {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | {r['rss_mb']} "
            f"| {_ratio(r['rps_vs_floor'], r.get('rps_vs_floor_range'))} "
            f"| {_ratio(r['p99_vs_floor'], r.get('p99_vs_floor_range'))} "
            f"| {r['cpu_ms_per_request']:.2f} ({r['db_cpu_ms_per_request']:.2f}) | {answered} | {hit_ratio} "
            f"| {r.get('writes', '-')} |"
        )
    if meta["skipped_cases"]:
        lines += ["", "Not measured (no handler yet): " + ", ".join(meta["skipped_cases"])]
    problems = [f"{r['worker_class']}/{r['cache']}/{r['case']}: {r['problem']}" for r in rows if r.get("problem")]
    if problems:
        lines += ["", "Problems seen before the load:"] + [f"- {p}" for p in problems]
    return "\n".join(lines) + "\n"


def _ratio(value: float | None, spread: list[float] | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f} ({spread[0]:.2f}-{spread[1]:.2f})" if spread else f"{value:.2f}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
