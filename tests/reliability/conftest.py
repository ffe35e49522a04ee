"""Helpers for the reliability tests: every log line xmlcurl writes, whatever its level."""
from __future__ import annotations

import logging

import pytest


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def text(self) -> str:
        return "\n".join(self.format(r) for r in self.records)

    def messages(self, contains: str = "") -> list[str]:
        return [r.getMessage() for r in self.records if contains in r.getMessage()]


@pytest.fixture
def xmlcurl_log():
    """Every record of the `xmlcurl` loggers (they do not propagate to pytest's handler)."""
    logger = logging.getLogger("xmlcurl")
    handler = Lines()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)


@pytest.fixture
def make_sqlite_app(sqlite_template, tmp_path):
    """Apps with extra settings, each on its own copy of the demo SQLite database."""
    import shutil

    from tests.conftest import BASE_SETTINGS
    from xmlcurl import create_app

    made = []

    def make(**overrides):
        path = tmp_path / f"xmlcurl-{len(made)}.sqlite3"
        shutil.copy(sqlite_template, path)
        application = create_app({**BASE_SETTINGS, "DATABASE_URL": f"sqlite:///{path}", **overrides})
        made.append(application)
        return application

    yield make
    for application in made:
        application.extensions["xmlcurl.db"].dispose()
