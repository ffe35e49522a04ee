"""Serialised answers as the fetch cache and the last-good store keep them: zlib with a preset dictionary.

A directory user's answer is ~1.6 KB of which all but its names, a1-hash and variables is the same
for every user: deflated against a dictionary holding that common text, it takes about 100-150 bytes
(15 us to shrink once per load, 3 us to expand per hit). So a worker's cache, bounded in bytes, holds
several times as many answers (a worker meeting more users than it can keep hits more often), and
each answer written to the last-good store is a row a tenth the size.

The kept form is tagged: ``z1`` and the deflate stream made with `_dictionary()`. A change to the
dictionary (to the directory skeleton it is built from) needs a new tag: an answer deflated against
another dictionary cannot be expanded (tests/fetch/test_compact.py pins the dictionary's checksum).
A value this code cannot expand raises ValueError, and the fetch is answered as if the store held
nothing for it (503).
"""
from __future__ import annotations

import zlib
from functools import lru_cache

from lxml import etree

#: What every kept answer starts with: which dictionary it was deflated against.
_TAG = b"z1"
#: Deflate's window (8 KB, wider than any repeat an answer holds beside the 1.8 KB dictionary) and
#: hash table (memLevel 4: 4 KB). With zlib's defaults (32 KB, memLevel 9 here before) every shrink
#: cleared a 128 KB table: with the CPU's caches cold, as a worker's are when a miss comes back from
#: the database, a shrink took 75-90 us against 55-65 now (15-22 us either way in a tight loop), and
#: answers come out the same size. The window is written in each stream's header, so `expand` reads
#: streams made either way.
_WINDOW_BITS, _MEMORY_LEVEL = 13, 4


@lru_cache(maxsize=1)
def _dictionary() -> bytes:
    """What answers share, most common last (deflate finds the nearest match first): the configuration
    section's words, then a directory answer with one user, as `build_directory` writes it (made on first
    use: the directory module itself keeps its answers through this one)."""
    from .directory import DirectoryDomain, DirectoryUser, build_directory
    from .xmldoc import serialise

    configuration = etree.Element("document", type="freeswitch/xml")
    section = etree.SubElement(configuration, "section", name="configuration")
    for name in ("sofia.conf", "acl.conf"):
        etree.SubElement(section, "configuration", name=name, description=name)
    user = DirectoryUser(username="1000", a1_hash="0" * 32, kind="agent", outbound_cid_number="10000000000",
                         outbound_cid_name="Tenant", variables=(("x_", ""),))
    domain = DirectoryDomain(name="tenant.example.com", tenant_code="tenant", context="tenant-tenant",
                             users=(user,))
    return serialise(configuration) + serialise(build_directory(domain, 0))


def shrink(answer: bytes) -> bytes:
    """The answer in its kept form."""
    deflate = zlib.compressobj(6, zlib.DEFLATED, _WINDOW_BITS, _MEMORY_LEVEL, zlib.Z_DEFAULT_STRATEGY, _dictionary())
    return _TAG + deflate.compress(answer) + deflate.flush()


def expand(kept: bytes) -> bytes:
    """The answer `shrink` kept; ValueError for a form this code does not know."""
    if kept[:2] != _TAG:
        raise ValueError("not an answer kept by this version of xmlcurl")
    inflate = zlib.decompressobj(0, _dictionary())  # 0: the window the stream's header names
    try:
        answer = inflate.decompress(kept[2:])
    except zlib.error as exc:
        raise ValueError(f"kept answer cannot be expanded: {exc}") from exc
    if not inflate.eof or inflate.unused_data:
        raise ValueError("kept answer is cut short or runs on")
    return answer
