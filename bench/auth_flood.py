"""A good node's fetch latency with and without a flood of bogus Basic credentials, under gunicorn.

    python -m bench.auth_flood [--clients 24] [--rate R] [--seconds 10] [--rounds 3] [--root CHECKOUT]

One client plays a media node: sequential directory fetches (a new connection each, as curl in
mod_xml_curl does) with its right secret. In alternate phases, `--clients` flooding processes send
back-to-back fetches with random secrets for the same node and for random node names, from the
same address, back to back or at a total `--rate`. Prints the good node's median and p95 per phase, the flood's rate and status codes,
and the ratio of the flooded median to the quiet one (the target: at most 1.20).
`--root` serves another checkout's code (e.g. the main branch) for a before/after comparison.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import multiprocessing
import os
import secrets
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import server
from bench.bodies import captured

BODY = captured("media-1_directory_sip_auth_acme-1000")


def _basic(username: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()


GOOD = _basic("media-1", "media-1-secret")


def _post(port: int, authorization: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/freeswitch", body=BODY, headers={
            "Authorization": authorization, "Content-Type": "application/x-www-form-urlencoded", "Connection": "close"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _flood(port: int, stop_at: float, interval: float, results: "multiprocessing.Queue") -> None:
    """Bogus credentials until `stop_at`, one every `interval` s (0: back to back): random secrets for
    media-1 and random node names."""
    statuses: Counter[int] = Counter()
    next_at = time.time() + secrets.randbelow(1000) / 1000 * interval
    while time.time() < stop_at:
        if interval:
            # Open loop: a late answer does not slow the flood down (requests are not skipped either).
            time.sleep(max(0.0, next_at - time.time()))
            next_at += interval
        if secrets.randbelow(2):
            authorization = _basic("media-1", secrets.token_urlsafe(32))
        else:
            authorization = _basic(f"node-{secrets.token_hex(4)}", secrets.token_urlsafe(32))
        try:
            statuses[_post(port, authorization)] += 1
        except OSError:
            statuses[0] += 1
    results.put(dict(statuses))


def _good_node(port: int, seconds: float) -> list[float]:
    """Sequential good fetches for `seconds`; their latencies in ms (all must be 200)."""
    latencies = []
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        started = time.perf_counter()
        status = _post(port, GOOD)
        latencies.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"the good node's fetch answered {status}")
        time.sleep(0.005)  # a node's fetches are spread out; the flood is not
    return latencies


def _phase(port: int, seconds: float, clients: int, rate: float = 0.0) -> dict:
    results: multiprocessing.Queue = multiprocessing.Queue()
    stop_at = time.time() + seconds
    interval = clients / rate if rate else 0.0
    floods = [multiprocessing.Process(target=_flood, args=(port, stop_at, interval, results)) for _ in range(clients)]
    for process in floods:
        process.start()
    if floods:
        time.sleep(0.5)  # the flood is under way before the good node is measured
    latencies = _good_node(port, max(1.0, stop_at - time.time()))
    statuses: Counter[int] = Counter()
    for _ in floods:
        statuses.update(results.get(timeout=60))
    for process in floods:
        process.join(timeout=30)
    return {"latencies": latencies, "flood": dict(statuses), "flood_rate": sum(statuses.values()) / seconds}


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.auth_flood", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=24, help="flooding processes")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="the flood's total requests/s (0: each client sends back to back, as fast as answered)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=3, help="quiet/flooded phase pairs")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="gthread threads per worker")
    parser.add_argument("--root", type=Path, default=server.ROOT, help="checkout whose wsgi:app is served")
    args = parser.parse_args(argv)

    from xmlcurl import bootstrap, db

    with tempfile.TemporaryDirectory(prefix="xmlcurl-auth-flood-") as tmp:
        path = Path(tmp) / "demo.sqlite3"
        engine = db.make_engine(f"sqlite:///{path}", {})
        bootstrap.prepare(engine, demo=True)
        engine.dispose()
        env = {"XMLCURL_DATABASE_URL": f"sqlite:///{path}", "XMLCURL_SECRET_KEY": secrets.token_urlsafe(48),
               "XMLCURL_ENV": "production", "XMLCURL_LOG_LEVEL": "ERROR", "PYTHONPATH": str(args.root)}
        env_saved = os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        port = _free_port()
        root_saved = server.ROOT
        server.ROOT = args.root
        try:
            with server.gunicorn("wsgi:app", port, "gthread", args.workers, args.threads, env, Path(tmp) / "gunicorn.log"):
                for _ in range(4 * args.workers):
                    _post(port, GOOD)  # every worker has verified the node once, as in service
                quiet: list[float] = []
                flooded: list[float] = []
                floods = []
                for _ in range(args.rounds):
                    quiet += _phase(port, args.seconds, 0)["latencies"]
                    phase = _phase(port, args.seconds, args.clients, args.rate)
                    flooded += phase["latencies"]
                    floods.append(phase)
        finally:
            server.ROOT = root_saved
            if env_saved is not None:
                os.environ["PROMETHEUS_MULTIPROC_DIR"] = env_saved
    statuses: Counter[int] = Counter()
    for phase in floods:
        statuses.update(phase["flood"])
    rate = statistics.median(phase["flood_rate"] for phase in floods)
    ratio = statistics.median(flooded) / statistics.median(quiet)
    print(f"auth flood on {os.cpu_count()} CPUs, {args.workers} workers x {args.threads} threads, serving {args.root}; "
          f"{args.rounds} rounds of {args.seconds:g} s quiet / {args.seconds:g} s with {args.clients} flooding clients "
          f"({f'{args.rate:g} requests/s in all' if args.rate else 'back to back'})")
    print(f"good node, quiet:   n={len(quiet)} median={statistics.median(quiet):.2f} ms p95={_p95(quiet):.2f} ms")
    print(f"good node, flooded: n={len(flooded)} median={statistics.median(flooded):.2f} ms p95={_p95(flooded):.2f} ms")
    print(f"flood: {rate:.0f} requests/s (median of rounds), statuses {dict(sorted(statuses.items()))}")
    print(f"flooded/quiet median ratio: {ratio:.2f} (target <= 1.20)")
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    raise SystemExit(main())
