"""Hostile and broken fetch bodies: each gets a clear 4xx, `not found` or a rejection, never a 500."""
from __future__ import annotations

import pytest

from tests.freeswitch_rules import action_data, assert_freeswitch_can_read
from tests.hostile.corpus import corpus

CORPUS = corpus()


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 200


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
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
