"""What the last-good store costs a cold fetch: the request thread's share and the writer's.

    python -m bench.last_good [--entries 20000] [--size 1500] [--rounds 3]

Puts `--entries` values of `--size` bytes (a directory user's answer is ~1.5 KB) the way a worker
does on cache misses, and prints, per entry: the time the fetch itself spends (queueing), the
worker's CPU including the writer thread's batched SQLite transactions, and the wall time until
all of it is on disk. Runs in one process: CPU is measured with time.process_time.
"""
from __future__ import annotations

import argparse
import os
import pickle
import tempfile
import time

from xmlcurl.fetch import scopes
from xmlcurl.fetch.lastgood import LastGoodStore


def one_round(entries: int, size: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as where:
        store = LastGoodStore(where)
        store.sync("bench-epoch", 1, {})
        store.flush()
        value = pickle.dumps((b"x" * size, None, None), protocol=pickle.HIGHEST_PROTOCOL)
        keys = [repr((1, "directory", "document", "user", 1 + n % 50, str(1000 + n), 0)) for n in range(entries)]
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for n, key in enumerate(keys):
            store.put(key, "bench-epoch", 2, scopes.tenant(1 + n % 50), value)
        queued = time.perf_counter() - wall0
        store.flush()
        return queued / entries, (time.process_time() - cpu0) / entries, (time.perf_counter() - wall0) / entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--size", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"last-good store, {args.entries} entries of {args.size} bytes, pid {os.getpid()}")
    print("round  fetch thread us/entry  worker CPU us/entry  until on disk us/entry")
    for number in range(1, args.rounds + 1):
        queued, cpu, wall = one_round(args.entries, args.size)
        print(f"{number:>5}  {queued * 1e6:>21.1f}  {cpu * 1e6:>19.1f}  {wall * 1e6:>22.1f}")


if __name__ == "__main__":
    main()
