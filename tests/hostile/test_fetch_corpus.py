"""Hostile and broken fetch bodies: each gets a clear 4xx, `not found` or a rejection, never a 500."""
from __future__ import annotations

import shutil

import pytest

from tests.conftest import BASE_SETTINGS, fetch_poster
from tests.freeswitch_rules import action_data, assert_freeswitch_can_read
from tests.hostile.corpus import corpus
from xmlcurl import create_app

CORPUS = corpus()


@pytest.fixture(scope="module")
def fetch(sqlite_template, tmp_path_factory):
    """One app on a demo SQLite database for the whole corpus. A fetch never writes the database, and
    what it keeps in memory (the answer cache, the recent failures) gives any fetch the answer a fresh
    app gives; an app per entry cost some 60 s of app building for 1,100 entries."""
    folder = tmp_path_factory.mktemp("corpus")
    shutil.copy(sqlite_template, folder / "xmlcurl.sqlite3")
    application = create_app({**BASE_SETTINGS, "DATABASE_URL": f"sqlite:///{folder / 'xmlcurl.sqlite3'}",
                              "LAST_GOOD_DIR": str(folder / "last-good")})
    yield fetch_poster(application.test_client())
    application.extensions["xmlcurl.db"].dispose()


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 200


@pytest.mark.parametrize("entry_id, body, marker", CORPUS, ids=[e[0] for e in CORPUS])
def test_hostile_body_gets_a_clear_answer(fetch, entry_id, body, marker):
    node = "router-1" if entry_id.startswith(("dialplan-router", "dialplan-carrier")) else "media-1"
    response = fetch(body, node=node)
    assert response.status_code in {200, 400, 403, 413}, response.data[:200]
    if response.status_code != 200:
        assert response.mimetype == "text/plain"
        return
    doc = assert_freeswitch_can_read(response.data)
    if marker is not None:
        for data in action_data(doc):
            assert marker not in data, (entry_id, data)
