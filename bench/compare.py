"""`python -m bench.compare SMALL.json LARGE.json`: how xmlcurl's latency grows with the data set.

Reads two results of `python -m bench` (bench/results/bench-*.json), e.g. a 10,000-user and a
1,000,000-user run, and prints, per worker class and case with the cache on, p50 and req/s of
each and the ratio large / small (the target: p50 at 1,000,000 users <= 1.2x p50 at 10,000).
The two runs are minutes apart on a machine that may be shared, so the same ratio is also shown
with each p50 taken relative to the floor app's p50 in its own run.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

#: The p50 growth the performance target allows from the small to the large data set.
P50_LIMIT = 1.2


def _rows(path: Path) -> tuple[dict, dict[tuple[str, str], dict], dict[tuple[str, str], dict]]:
    """Meta, the xmlcurl rows with the cache on and the floor rows, by (worker class, case)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = {(r["worker_class"], r["case"]): r for r in data["rows"]
            if r["server"] == "xmlcurl" and r["cache"] in ("on", "warm")}  # "on": results before the modes
    floors = {(r["worker_class"], r["case"]): r for r in data["rows"] if r["server"] == "floor"}
    return data["meta"], rows, floors


def compare(small: Path, large: Path) -> tuple[str, bool]:
    """The Markdown table and whether every case stays within P50_LIMIT."""
    small_meta, small_rows, small_floors = _rows(small)
    large_meta, large_rows, large_floors = _rows(large)
    users = small_meta["data_set"]["users"], large_meta["data_set"]["users"]
    lines = [
        f"| worker | case | p50 ms at {users[0]:,} users | p50 ms at {users[1]:,} users | p50 ratio "
        f"| p50 ratio, each over its floor | req/s at {users[0]:,} | req/s at {users[1]:,} |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    within = True
    for key in sorted(small_rows.keys() & large_rows.keys()):
        a, b = small_rows[key], large_rows[key]
        ratio = b["p50_ms"] / a["p50_ms"] if a["p50_ms"] else float("inf")
        within = within and ratio <= P50_LIMIT
        floor_a, floor_b = small_floors.get(key, {}).get("p50_ms"), large_floors.get(key, {}).get("p50_ms")
        relative = (b["p50_ms"] / floor_b) / (a["p50_ms"] / floor_a) if floor_a and floor_b and a["p50_ms"] else None
        lines.append(f"| {key[0]} | {key[1]} | {a['p50_ms']:.2f} | {b['p50_ms']:.2f} | {ratio:.2f} "
                     f"| {'-' if relative is None else f'{relative:.2f}'} "
                     f"| {a['requests_per_second']:.0f} | {b['requests_per_second']:.0f} |")
    if not small_rows.keys() & large_rows.keys():
        raise SystemExit("the two results share no case measured with the cache on")
    return "\n".join(lines) + "\n", within


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.splitlines()[0])
    parser.add_argument("small", type=Path, help="result JSON of the smaller data set")
    parser.add_argument("large", type=Path, help="result JSON of the larger data set")
    args = parser.parse_args(argv)
    table, within = compare(args.small, args.large)
    print(table)
    print(f"p50 within {P50_LIMIT}x everywhere: {'yes' if within else 'no'}")
    return 0 if within else 1


if __name__ == "__main__":
    raise SystemExit(main())
