"""What the last-good store costs a cold fetch: the request thread's share, the writer's and the machine's.

    python -m bench.last_good [--entries 20000] [--prefill 50000] [--rate 1000] [--size 1500] [--rounds 3]

Puts `--entries` values of `--size` bytes (a directory user's answer is ~1.5 KB) the way a worker
does on cache misses, into a store already holding `--prefill` entries (a store that has served a
while: its cost per entry grows with its size), and prints, per entry: the time the fetch itself
spends (queueing), the worker's CPU including the writer thread's batched SQLite transactions, the
machine's CPU (the kernel's writeback of the file included: everything is synced before the clock
stops; read from /proc/stat, so run it on an otherwise idle machine) and the wall time until all of
it is on disk. Runs in one process: its CPU is measured with time.process_time.
"""
from __future__ import annotations

import argparse
import os
import pickle
import tempfile
import time

from xmlcurl.fetch import scopes
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


def one_round(entries: int, prefill: int, rate: int, size: int) -> tuple[float, float, float | None, float]:
    with tempfile.TemporaryDirectory() as where:
        store = LastGoodStore(where)
        store.sync("bench-epoch", 1, {})
        value = pickle.dumps((b"x" * size, None, None), protocol=pickle.HIGHEST_PROTOCOL)
        # Users of 50 tenants, put in an order unrelated to their keys', as a spread of misses puts them.
        keys = [repr((1, "directory", "document", "user", 1 + n % 50, str(1000 + n * 7919 % (prefill + entries)), 0))
                for n in range(prefill + entries)]
        for n, key in enumerate(keys[:prefill]):
            store.put(key, "bench-epoch", 2, scopes.tenant(1 + n % 50), value)
        store.flush()
        os.sync()
        machine0, cpu0, wall0 = machine_cpu_seconds(), time.process_time(), time.perf_counter()
        queued, step = 0.0, max(1, int(rate * TICK_SECONDS))
        for start in range(prefill, prefill + entries, step):
            time.sleep(max(0.0, wall0 + (start - prefill) / rate - time.perf_counter()))
            began = time.perf_counter()
            for n in range(start, min(start + step, prefill + entries)):
                store.put(keys[n], "bench-epoch", 2, scopes.tenant(1 + n % 50), value)
            queued += time.perf_counter() - began
        store.flush()
        os.sync()
        cpu, wall, machine1 = time.process_time() - cpu0, time.perf_counter() - wall0, machine_cpu_seconds()
        machine = None if machine0 is None or machine1 is None else (machine1 - machine0) / entries
        return queued / entries, cpu / entries, machine, wall / entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--prefill", type=int, default=50000)
    parser.add_argument("--rate", type=int, default=1000, help="entries put per second")
    parser.add_argument("--size", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"last-good store, {args.entries} entries of {args.size} bytes after {args.prefill}, {args.rate}/s, "
          f"pid {os.getpid()}")
    print("round  fetch thread us/entry  worker CPU us/entry  machine CPU us/entry  wall us/entry")
    for number in range(1, args.rounds + 1):
        queued, cpu, machine, wall = one_round(args.entries, args.prefill, args.rate, args.size)
        shown = "n/a" if machine is None else f"{machine * 1e6:.1f}"
        print(f"{number:>5}  {queued * 1e6:>21.1f}  {cpu * 1e6:>19.1f}  {shown:>20}  {wall * 1e6:>22.1f}")


if __name__ == "__main__":
    main()
