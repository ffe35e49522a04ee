"""What `xmlcurl fill-store --follow` costs while the configuration changes, and how much of the store it keeps current.

    python -m bench.follow [--users 10000 --tenants 50 --reuse] [--rate 10] [--seconds 120] [--settle S]

Fills a last-good store from the data set with `xmlcurl fill-store --follow` (a process of its own,
as deployed), then measures three phases: idle (nothing changes: the cost of reading the changes),
churn (`--rate` changes a second, each an UPDATE of a random user's caller name committed on its own,
as staff and scripts make them) and after (until every stored answer is current again, or the
longest wait has passed). For each: the filler's and MariaDB's CPU as a share of one core, the users
filled again per second, and the store's coverage, sampled every `--sample` seconds: the share of its
answers that no recorded change superseded, which is what a worker could answer from the store if
the database failed at that moment (a change to a user supersedes that user's stored answers, one to
the tenant's own rows all of the tenant's, until they are filled again). Run it on an otherwise idle
machine.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import psutil

from xmlcurl.fetch import lastgood

from .churn import churn
from .dataset import prepare_dataset_from_arguments
from .options import add_dataset_arguments
from .server import database_cpu_seconds

#: A refill line of `fill-store --follow`: "<stamp> filled again: N users of T tenants, A answers in S s".
REFILL = re.compile(r"filled again: (\d+) users of (\d+) tenants, (\d+) answers")


def _fill_store_default(option: str):
    """The default of a `xmlcurl fill-store` option, as the command declares it."""
    from xmlcurl.cli.store import fill_store

    return next(param.default for param in fill_store.params if param.name == option)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.follow", description=__doc__.splitlines()[0])
    add_dataset_arguments(parser, "BENCH_DATABASE_URL", "xmlcurl_bench", dict(
        tenants=1000, users=100_000, routes=20_000, dids=10_000, routers=4, media=40, gateways=50))
    parser.add_argument("--rate", type=float, default=10.0, help="changes a second during the churn phase")
    parser.add_argument("--seconds", type=int, default=120, help="seconds of churn")
    parser.add_argument("--idle", type=int, default=30, help="seconds with nothing changing, before the churn")
    parser.add_argument("--settle", type=float, default=_fill_store_default("settle"),
                        help="fill-store --settle (its own default)")
    parser.add_argument("--interval", type=float, default=0.5,
                        help="fill-store --interval (XMLCURL_CACHE_POLL_SECONDS's default)")
    parser.add_argument("--sample", type=float, default=2.0, help="seconds between samples of the store's coverage")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.seconds <= 0 or args.sample <= 0:
        parser.error("--rate, --seconds and --sample must be positive")
    return args


def refilled(lines: list[str]) -> int:
    """Users filled again, by the follower's refill lines (the first fill's line is not one)."""
    return sum(int(m.group(1)) for m in map(REFILL.search, lines) if m)


def coverage(store: Path) -> tuple[int, int]:
    """(current, all) answers of the store's epoch: current when no change to a scope it depends on, recorded
    in the store, came after the version it was built at (what a worker's outage read checks, lastgood._current)."""
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=30)
    try:
        newest = dict(conn.execute("SELECT scope, version FROM scopes"))
        groups = conn.execute("SELECT e.scope, e.version, count(*) FROM entries e JOIN meta m ON m.id = 1 "
                              "WHERE e.epoch = m.epoch GROUP BY e.scope, e.version").fetchall()
    finally:
        conn.close()
    current = total = 0
    for scope, version, count in groups:
        total += count
        if all(newest.get(part, 0) <= version for part in scope.split("\n")):
            current += count
    return current, total


@dataclass
class Filler:
    """The `fill-store --follow` process and what it has printed."""

    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)
    following: threading.Event = field(default_factory=threading.Event)

    def read(self) -> None:
        for line in self.process.stdout:  # type: ignore[union-attr]
            self.lines.append(line.rstrip("\n"))
            if line.startswith("following the changes"):
                self.following.set()
        self.following.set()  # it exited: whoever waits sees that

    def refilled_users(self) -> int:
        return refilled(self.lines)

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system


@contextmanager
def follower(env: dict, settle: float, interval: float) -> Iterator[Filler]:
    """`xmlcurl fill-store --follow` running, once its first fill is done."""
    process = subprocess.Popen(
        [sys.executable, "-m", "xmlcurl.cli", "fill-store", "--follow", "--quiet", f"--settle={settle}",
         f"--interval={interval}"],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    filler = Filler(process)
    reader = threading.Thread(target=filler.read, daemon=True)
    reader.start()
    try:
        filler.following.wait()
        if process.poll() is not None:
            raise SystemExit("xmlcurl fill-store --follow failed:\n" + "\n".join(filler.lines[-20:]))
        yield filler
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        reader.join(timeout=10)
        process.stdout.close()  # type: ignore[union-attr]


@dataclass
class Phase:
    name: str
    seconds: float
    filler_cpu: float
    database_cpu: float | None
    refilled_users: int
    changes: int
    samples: list[float]

    def line(self) -> str:
        share = lambda cpu: "n/a" if cpu is None else f"{100 * cpu / self.seconds:.1f}%"  # noqa: E731
        covered = (f"coverage median {statistics.median(self.samples):.1%}, lowest {min(self.samples):.1%}"
                   if self.samples else "coverage not sampled")
        return (f"{self.name:>6}: {self.seconds:6.1f} s, {self.changes} changes ({self.changes / self.seconds:.1f}/s), "
                f"filler CPU {share(self.filler_cpu)} of a core, MariaDB {share(self.database_cpu)}, "
                f"{self.refilled_users / self.seconds:.0f} users filled again/s; {covered}")


def measure(name: str, filler: Filler, store: Path, sample: float, until, writes: dict) -> Phase:
    """One phase: samples the store's coverage every `sample` s until `until(covered)` says it is over."""
    began, cpu, db, refilled, changes = (time.monotonic(), filler.cpu_seconds(), database_cpu_seconds(),
                                         filler.refilled_users(), writes["writes"])
    samples = []
    while True:
        time.sleep(sample)
        current, total = coverage(store)
        samples.append(current / total if total else 0.0)
        if until(samples[-1]):
            break
    db_after = database_cpu_seconds()
    return Phase(name, time.monotonic() - began, filler.cpu_seconds() - cpu,
                 None if db is None or db_after is None else db_after - db,
                 filler.refilled_users() - refilled, writes["writes"] - changes, samples)


def main(argv: list[str] | None = None) -> int:
    from xmlcurl.fetch.fill import LONGEST_WAIT

    args = parse_args(argv)
    prepare_dataset_from_arguments(args)[1].dispose()
    workdir = Path(tempfile.mkdtemp(prefix="xmlcurl-follow-"))
    store = workdir / lastgood.STORE_FILE
    env = {"XMLCURL_DATABASE_URL": args.database_url, "XMLCURL_ENV": "production", "XMLCURL_CACHE": "on",
           "XMLCURL_SECRET_KEY": "bench-follow-" + "x" * 40, "XMLCURL_LOG_LEVEL": "WARNING",
           "XMLCURL_LAST_GOOD_DIR": str(workdir)}
    writes: dict = {"writes": 0, "tenants": set()}  # the churn's, once it runs
    try:
        began = time.monotonic()
        with follower(env, args.settle, args.interval) as filler:
            print(f"{filler.lines[0]} ({time.monotonic() - began:.0f} s with the start)", flush=True)
            print(f"fill-store --follow --settle {args.settle:g} --interval {args.interval:g}; "
                  f"{args.rate:g} changes/s for {args.seconds} s", flush=True)
            idle_end = time.monotonic() + args.idle
            phases = [measure("idle", filler, store, args.sample, lambda _: time.monotonic() >= idle_end, writes)]
            print(phases[-1].line(), flush=True)
            churn_end = time.monotonic() + args.seconds
            with churn(args.database_url, "users", set(), args.rate) as writes:
                phases.append(measure("churn", filler, store, args.sample,
                                      lambda _: time.monotonic() >= churn_end, writes))
            print(phases[-1].line(), flush=True)
            # Every tenant changed during the churn is filled again within the longest wait after its first
            # change not yet filled, and after its last change within --settle (plus a read of the changes).
            after_end = time.monotonic() + LONGEST_WAIT * args.settle + 10 * args.interval + 30
            phases.append(measure("after", filler, store, args.sample,
                                  lambda covered: covered >= 1.0 or time.monotonic() >= after_end, writes))
            print(phases[-1].line(), flush=True)
            steady = phases[1].samples[len(phases[1].samples) // 2:]
            back = phases[2].samples[-1] >= 1.0
            print(f"\nchurn: {writes['writes']} changes to {len(writes['tenants'])} of {args.tenants} tenants; "
                  f"coverage over its second half median {statistics.median(steady):.1%}, lowest {min(steady):.1%}; "
                  + (f"every answer current again {phases[2].seconds:.0f} s after the last change"
                     if back else f"not every answer current {phases[2].seconds:.0f} s after the last change"),
                  flush=True)
            errors = [line for line in filler.lines if "failed" in line or "filling everything again" in line]
            if errors:
                print("the filler reported:\n" + "\n".join(errors[:10]))
        return 0 if back and not errors else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
