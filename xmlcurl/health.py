"""Liveness and readiness for load balancers and orchestrators (no credentials, no configuration)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from . import db
from .fetch.cache import fetch_cache
from .models import ConfigVersion

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is alive."""
    return jsonify(status="ok")


#: A worker's version is fresh when read within this many polling intervals (and at most this floor in seconds).
FRESH_POLLS = 4
FRESH_FLOOR_SECONDS = 2.0


@bp.get("/readyz")
def readyz():
    """Ready when the database answers and the config version was read recently; degraded when the cache serves alone.

    Degraded answers 200: the fetches this instance can still answer from its cache are better
    than a load balancer taking every instance out while MySQL is away.
    """
    session = db.read_session()
    cache = fetch_cache()
    try:
        version = session.scalar(select(ConfigVersion.version).where(ConfigVersion.id == 1))
        database = "ok" if version is not None else "no schema"
    except SQLAlchemyError:
        session.rollback()
        database = "unreachable"
    if cache is None:
        if database == "ok":
            return jsonify(status="ok", database=database, cache="off")
        return jsonify(status="unavailable", database=database, cache="off"), 503
    cache.refresh(lambda: session)
    age = cache.seconds_since_poll()
    fresh = age is not None and age <= max(FRESH_FLOOR_SECONDS, FRESH_POLLS * cache.poll_seconds)
    body = {"database": database, "cache": "on", "version_read_seconds_ago": None if age is None else round(age, 3)}
    if database == "ok" and fresh:
        return jsonify(status="ok", **body)
    if cache.can_serve():
        return jsonify(status="degraded", **body)
    return jsonify(status="unavailable", **body), 503
