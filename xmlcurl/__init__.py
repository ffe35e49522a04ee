"""xmlcurl: the configuration server of a FreeSWITCH cluster (mod_xml_curl)."""
from __future__ import annotations

import secrets as _secrets
from pathlib import Path
from typing import Any, Mapping

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config, db, limits
from .logging_setup import configure as configure_logging
from .logging_setup import loggable


class _Flask(Flask):
    def log_exception(self, exc_info: Any) -> None:
        """Flask's line for an unhandled error, with the path (caller text) escaped like every logged value."""
        self.logger.error("Exception on %s [%s]", loggable(request.path, 200), loggable(request.method),
                          exc_info=exc_info)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then XMLCURL_* from the environment, then `test_config`."""
    app = _Flask(__name__, instance_relative_config=True)
    settings = config.load(overrides=test_config)
    configure_logging(settings["LOG_LEVEL"])
    secret = settings["SECRET_KEY"] or _secrets.token_urlsafe(48)  # development and tests only (checked)
    app.config.update(SECRET_KEY=secret, XMLCURL=settings, TESTING=settings["ENV"] == "testing")
    limits.init_app(app)
    if settings["PROXY_HOPS"]:
        # Behind a TLS-terminating proxy: the client address (node allow-lists, logs) comes from its headers.
        hops = settings["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    url = settings["DATABASE_URL"]
    embedded = not url
    if embedded:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{Path(app.instance_path) / 'xmlcurl.sqlite3'}"
    database = db.Database(url, settings["READ_DATABASE_URL"], settings)
    db.init_app(app, database)
    if embedded:
        # The embedded file is this app's own: its tables exist as soon as the app does (CLI included).
        from .bootstrap import prepare

        prepare(database.engine, demo=settings["SEED_DEMO"])

    from .fetch.registry import load_handlers
    from .fetch.views import bp as fetch_bp
    from .health import bp as health_bp
    from .home import bp as home_bp
    from .metrics import bp as metrics_bp

    load_handlers()
    app.register_blueprint(fetch_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(home_bp)
    app.register_blueprint(metrics_bp)
    from .api import bp as api_bp

    app.register_blueprint(api_bp)
    import admin

    admin.init_app(app)

    from .cli import register_commands

    register_commands(app)
    return app


__all__ = ["create_app"]
