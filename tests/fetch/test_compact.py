"""Answers as the cache and the last-good store keep them: deflated against what answers share."""
from __future__ import annotations

import pickle
import zlib

import pytest
from lxml import etree

from tests.conftest import cluster_body
from xmlcurl.fetch import compact
from xmlcurl.fetch.cache import FetchCache, fetch_cache
from xmlcurl.fetch.context import UnreadableAnswer
from xmlcurl.fetch.lastgood import LastGoodStore

#: zlib.adler32 of compact._dictionary() for the tag z1.
DICTIONARY_CHECKSUM = 3742896656


def test_a_directory_user_answer_is_kept_in_a_fraction_of_its_size_and_comes_back_byte_for_byte(fetch):
    answer = fetch(cluster_body("media-1_directory_sip_auth_acme-1000")).data
    kept = compact.shrink(answer)
    assert compact.expand(kept) == answer
    assert len(answer) > 1400 and len(kept) < 150, (len(answer), len(kept))


@pytest.mark.parametrize("body, node", [("media-1_sofia.conf", "media-1"), ("router-1_sofia.conf_profile-carrier",
                                                                             "router-1"), ("router-1_acl.conf", "router-1")])
def test_configuration_answers_come_back_byte_for_byte(fetch, body, node):
    answer = fetch(cluster_body(body), node=node).data
    assert answer.startswith(b"<document") and compact.expand(compact.shrink(answer)) == answer


def _deflated_against(dictionary: bytes, answer: bytes) -> bytes:
    deflate = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS, 9, zlib.Z_DEFAULT_STRATEGY, dictionary)
    return b"z1" + deflate.compress(answer) + deflate.flush()


def test_an_answer_kept_with_zlibs_default_window_by_an_earlier_version_still_comes_back(fetch):
    # Until the window and hash table were made small, z1 streams were made with a 32 KB window; the
    # last-good store still holds them after an upgrade.
    answer = fetch(cluster_body("media-1_directory_sip_auth_acme-1000")).data
    assert compact.expand(_deflated_against(compact._dictionary(), answer)) == answer


def test_the_dictionary_is_the_one_the_z1_tag_names():
    # Kept answers outlive the code in the last-good store: a new dictionary (a change to the directory
    # skeleton it is built from) makes every one of them unreadable, so it needs a new tag in compact.py.
    assert zlib.adler32(compact._dictionary()) == DICTIONARY_CHECKSUM


@pytest.mark.parametrize("kept", [
    b"z9\x78\x9c", b"", b"<document/>\n", b"gibberish", compact.shrink(b"<document/>")[:-4],
    compact.shrink(b"<document/>") + b"trailing", b"z1" + b"\x00" * 20,
    _deflated_against(b"<document><section/></document>" * 4, b"<document/>"),
])
def test_a_kept_form_this_version_cannot_read_is_refused_not_guessed(kept):
    with pytest.raises(ValueError):
        compact.expand(kept)


def test_the_cache_keeps_answers_shrunk_and_serves_them_whole(app, fetch):
    body = cluster_body("media-1_directory_sip_auth_acme-1000")
    first = fetch(body).data
    cache = fetch_cache(app)
    (kept, _outcome, _key), = [entry.value for key, entry in cache._entries.items() if "kept" in key]
    assert kept.startswith(b"z1") and compact.expand(kept) == first
    assert fetch(body).data == first


def test_during_an_outage_a_last_good_answer_this_version_cannot_read_gets_a_503_not_garbage(tmp_path):
    from sqlalchemy.exc import OperationalError

    from tests.fetch.test_cache import Clock, VersionSession, _context

    clock, session = Clock(), VersionSession()
    store = LastGoodStore(tmp_path)
    one = FetchCache(100, 10**6, 0.5, clock=clock, store=store)
    one.refresh(lambda: session)
    built = _context(one).cached_document(("domain", "a.example"), lambda: etree.Element("document"))
    assert built == b"<document/>\n"
    # What a version of xmlcurl with another dictionary would have kept under the same key and tag.
    key = repr((1, "directory", "kept", "domain", "a.example"))
    store.flush()
    other = _deflated_against(b"<document><section/></document>" * 4, b"<document/>\n")
    store.put(key, one.epoch, one.version, ("*",), pickle.dumps((other, None, None)))
    store.flush()
    session.down = True
    restarted = FetchCache(100, 10**6, 0.5, clock=clock, store=LastGoodStore(tmp_path))

    def failing():
        raise OperationalError("SELECT", {}, Exception("gone"))

    with pytest.raises(UnreadableAnswer):
        _context(restarted).cached_document(("domain", "a.example"), failing)
