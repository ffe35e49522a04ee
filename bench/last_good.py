"""What the last-good store costs a cold fetch: the request thread's share, the writer's and the machine's.

    python -m bench.last_good [--entries 20000] [--prefill 50000] [--rate 1000] [--size 1500] [--rounds 3]
    python -m bench.last_good --direct [--batch 40] [--checkpoint-pages 1000]

Puts `--entries` values of `--size` bytes (a directory user's answer is ~1.5 KB) the way a worker
does on cache misses, into a store already holding `--prefill` entries (a store that has served a
while: its cost per entry grows with its size), `--rate` a second (a worker meeting users it has not
seen: its writer gathers what came in GATHER_SECONDS into one transaction), and prints, per entry:
the time the fetch itself spends (queueing), the process's CPU including the writer thread's
batched SQLite transactions, the machine's CPU (the kernel's writeback of the file included:
everything is synced before the clock stops; read from /proc/stat, so run it on an otherwise idle
machine) and the wall time until all of it is on disk.

`--direct` leaves out the queue and the thread: the writer's own transactions of `--batch` entries,
one after the other on one connection, so SQLite's share is measured alone (the fetch thread's
column is then 0). `--checkpoint-pages` replaces the store's WAL checkpoint interval, to compare.
"""
from __future__ import annotations

import argparse
import os
import pickle
import sqlite3
import tempfile
import time
from pathlib import Path

from xmlcurl.fetch import lastgood, scopes
from xmlcurl.fetch.lastgood import LastGoodStore

#: The puts come in every this many seconds, `--rate` a second.
TICK_SECONDS = 0.01


def machine_cpu_seconds() -> float | None:
    """Busy CPU seconds of the whole machine so far (every state but idle and iowait), or None off Linux."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except OSError:
        return None
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _keys(count: int) -> list[str]:
    # Users of 50 tenants, in an order unrelated to their keys', as a spread of misses brings them.
    return [repr((1, "directory", "kept", "user", 1 + n % 50, str(1000 + n * 7919 % count), 0))
            for n in range(count)]


def _puts(keys: list[str], value: bytes) -> list[tuple]:
    """The writer's queued ops for `keys`, as `LastGoodStore.put` queues them."""
    return [lastgood.put_op(key, "bench-epoch", 2, scopes.tenant(1 + n % 50), value) for n, key in enumerate(keys)]


class Timing:
    """CPU of this process and of the machine, and wall time, from now until `stop`, per entry."""

    def __init__(self) -> None:
        os.sync()
        self.machine, self.cpu, self.wall = machine_cpu_seconds(), time.process_time(), time.perf_counter()

    def stop(self, entries: int) -> tuple[float, float | None, float]:
        os.sync()
        cpu, wall, machine = time.process_time() - self.cpu, time.perf_counter() - self.wall, machine_cpu_seconds()
        per_machine = None if self.machine is None or machine is None else (machine - self.machine) / entries
        return cpu / entries, per_machine, wall / entries


def through_the_queue(entries: int, prefill: int, rate: int, value: bytes) -> tuple[float, float, float | None, float]:
    with tempfile.TemporaryDirectory() as where:
        keys = _keys(prefill + entries)
        # Filled in the writer's own transactions: put through the queue, most of a large prefill was
        # dropped (the queue holds QUEUE_LIMIT), and _check_written refused the run.
        _fill(Path(where) / lastgood.STORE_FILE, _puts(keys[:prefill], value)).close()
        store = LastGoodStore(where)
        store.sync("bench-epoch", 1, {})
        timing = Timing()
        queued, step = 0.0, max(1, int(rate * TICK_SECONDS))
        for start in range(prefill, prefill + entries, step):
            time.sleep(max(0.0, timing.wall + (start - prefill) / rate - time.perf_counter()))
            began = time.perf_counter()
            for n in range(start, min(start + step, prefill + entries)):
                store.put(keys[n], "bench-epoch", 2, scopes.tenant(1 + n % 50), value)
            queued += time.perf_counter() - began
        store.flush()
        figures = timing.stop(entries)
        _check_written(Path(where) / lastgood.STORE_FILE, prefill + entries)
        return (queued / entries, *figures)


def _check_written(path: Path, expected: int) -> None:
    """Figures for entries the store dropped would measure nothing: say so instead."""
    conn = sqlite3.connect(path)
    try:
        written = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    finally:
        conn.close()
    if written != expected:
        raise RuntimeError(f"the store holds {written} entries, not the {expected} written")


def _fill(path: Path, ops: list[tuple]) -> sqlite3.Connection:
    """A store at the bench's epoch holding `ops`' entries, written in transactions of 1,000; its connection."""
    conn = lastgood._connect(path)
    # The store takes entries only for the epoch it is at: a worker's first poll sets it (for the
    # database a LastGoodStore of the directory names, or its own first sync would empty it).
    lastgood._write_batch(conn, [lastgood.sync_op("bench-epoch", 1, {}, False, LastGoodStore(path.parent).database)])
    for start in range(0, len(ops), 1000):
        lastgood._write_batch(conn, ops[start:start + 1000])
    return conn


def direct(entries: int, prefill: int, batch: int, value: bytes) -> tuple[float, float, float | None, float]:
    with tempfile.TemporaryDirectory() as where:
        ops = _puts(_keys(prefill + entries), value)
        conn = _fill(Path(where) / lastgood.STORE_FILE, ops[:prefill])
        timing = Timing()
        for start in range(prefill, prefill + entries, batch):
            lastgood._write_batch(conn, ops[start:min(start + batch, prefill + entries)])
        figures = timing.stop(entries)
        conn.close()
        _check_written(Path(where) / lastgood.STORE_FILE, prefill + entries)
        return (0.0, *figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--prefill", type=int, default=50000)
    parser.add_argument("--rate", type=int, default=1000, help="entries put per second (through the queue)")
    parser.add_argument("--size", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--direct", action="store_true", help="the writer's transactions alone, one after the other")
    parser.add_argument("--batch", type=int, default=40, help="entries per transaction (--direct)")
    parser.add_argument("--checkpoint-pages", type=int, default=lastgood.WAL_CHECKPOINT_PAGES,
                        help="the store's WAL checkpoint interval, in pages")
    args = parser.parse_args()
    lastgood.WAL_CHECKPOINT_PAGES = args.checkpoint_pages
    value = pickle.dumps((os.urandom(args.size), None, None), protocol=pickle.HIGHEST_PROTOCOL)
    how = f"direct, batches of {args.batch}" if args.direct else f"{args.rate}/s through the queue"
    print(f"last-good store, {args.entries} entries of {args.size} bytes after {args.prefill}, {how}, "
          f"checkpoint every {args.checkpoint_pages} pages, pid {os.getpid()}")
    print("round  fetch thread us/entry  process CPU us/entry  machine CPU us/entry  wall us/entry")
    for number in range(1, args.rounds + 1):
        if args.direct:
            queued, cpu, machine, wall = direct(args.entries, args.prefill, args.batch, value)
        else:
            queued, cpu, machine, wall = through_the_queue(args.entries, args.prefill, args.rate, value)
        shown = "n/a" if machine is None else f"{machine * 1e6:.1f}"
        print(f"{number:>5}  {queued * 1e6:>21.1f}  {cpu * 1e6:>20.1f}  {shown:>20}  {wall * 1e6:>13.1f}")


if __name__ == "__main__":
    main()
