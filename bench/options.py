"""The options of `python -m bench` and the data-set options it shares with `bench.soak`.

Standard library only: `python3 -m bench --help` (and `make bench BENCH_ARGS=--help`) answers
before anything is installed.
"""
from __future__ import annotations

import argparse
import os

from .bodies import CAPTURES


class HelpFormatter(argparse.HelpFormatter):
    """Each option's default after its help (flags and options without one say nothing)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default:" not in text:
            text += " (default: %(default)s)"
        return text


def add_dataset_arguments(parser, env_var: str, database: str, sizes: dict[str, int]) -> None:
    """The data-set options `bench` and `bench.soak` share, with each one's own defaults.

    Without --database-url (or the environment variable) each size gets its own database
    (`<database>_<users>`), so --reuse keeps the 10,000, 100,000 and 1,000,000-user sets side by side.
    """
    group = parser.add_argument_group("data set (built with the generator, `xmlcurl generate`)")
    group.add_argument("--database-url", default=os.environ.get(env_var),
                       help=f"SQLAlchemy URL of the database to fill and serve from; default: ${env_var}, "
                            f"else MariaDB on 127.0.0.1 (root, no password), database {database}_<users>")
    parser.set_defaults(default_database=database)
    described = {"tenants": "tenants", "users": "SIP users in all", "routes": "routes",
                 "dids": "DIDs", "routers": "router nodes", "media": "media nodes", "gateways": "carrier gateways"}
    for name, what in described.items():
        group.add_argument(f"--{name}", type=int, default=sizes[name], help=what)
    group.add_argument("--reuse", action="store_true",
                       help="keep the database if it already has --users users (else it is rebuilt)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The options of `python -m bench`, parsed."""
    return build_parser().parse_args(argv)


def build_parser() -> argparse.ArgumentParser:
    """The parser of `python -m bench`."""
    parser = argparse.ArgumentParser(
        prog="python -m bench", formatter_class=HelpFormatter,
        description="xmlcurl under gunicorn against the framework floor, driven by wrk on this machine. "
                    "Builds the data set in MariaDB, then for each worker class and case measures the floor "
                    "app and xmlcurl (in each --modes mode) in alternating rounds and prints the table; "
                    "Markdown and JSON go to bench/results/. Needs wrk and a MariaDB server "
                    "(`make bench` installs wrk on Debian).")
    add_dataset_arguments(parser, "BENCH_DATABASE_URL", "xmlcurl_bench", dict(
        tenants=1000, users=100_000, routes=20_000, dids=10_000, routers=4, media=40, gateways=50))
    load = parser.add_argument_group("load (wrk)")
    load.add_argument("--duration", type=int, default=5, help="seconds of load per round")
    load.add_argument("--rounds", type=int, default=5,
                      help="rounds per case, each the floor then xmlcurl; the table shows medians")
    load.add_argument("--warmup", type=int, default=5, help="seconds of load before each measured run")
    load.add_argument("--connections", type=int, default=64, help="concurrent wrk connections")
    load.add_argument("--wrk-threads", type=int, default=2, help="wrk threads")
    load.add_argument("--cases", default=",".join(CAPTURES),
                      help="comma-separated fetch cases to measure (" + ", ".join(CAPTURES) + ")")
    load.add_argument("--bodies", type=int, default=2000, help="distinct request bodies per case")
    load.add_argument("--keepalive", action="store_true",
                      help="also measure with keep-alive connections (mod_xml_curl opens one per fetch)")
    server = parser.add_argument_group("server (gunicorn)")
    server.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    server.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    server.add_argument("--worker-classes", default="sync,gthread", help="comma-separated gunicorn worker classes")
    server.add_argument("--modes", default="warm,cold",
                        help="comma-separated: warm (cache on, nothing changing), cold (cache off), churn-tenants "
                             "(cache on, 10 changes/s to tenants no fetch asks about), churn-routes (cache on, "
                             "1 change/s to a route for all tenants), spread (cache on, sip_auth for users drawn "
                             "uniformly from the whole data set), spread-filled (spread after `xmlcurl fill-store` filled the "
                             "instance's last-good store, as a deployment does; the run keeps one store, so "
                             "list spread before it), one-select (not xmlcurl: a Flask app answering "
                             "the directory case with one SELECT, bench/one_select.py)")
    server.add_argument("--cache", help="the former spelling of --modes: on is warm, off is cold (e.g. --cache on,off)")
    server.add_argument("--spread-users", type=int, default=200_000,
                        help="distinct users the spread mode draws (uniformly from all users)")
    server.add_argument("--cache-max-mb", type=int, default=64,
                        help="per-worker cache limit (XMLCURL_CACHE_MAX_BYTES)")
    server.add_argument("--port", type=int, default=18080, help="xmlcurl's port; the floor app listens on the next one")
    return parser
