"""Liveness and readiness for load balancers and orchestrators (no credentials, no configuration)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from . import db
from .models import ConfigVersion

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is alive."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The database answers and holds a configuration version."""
    try:
        version = db.read_session().scalar(select(ConfigVersion.version).where(ConfigVersion.id == 1))
    except SQLAlchemyError:
        return jsonify(status="unavailable", database="unreachable"), 503
    if version is None:
        return jsonify(status="unavailable", database="no schema"), 503
    return jsonify(status="ok", database="ok")
