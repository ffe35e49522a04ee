"""xmlcurl's reference answers (tests/fetch/answers/) stay the capture plus the documented additions."""
from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.conftest import CONFORMANCE

ANSWERS = Path(__file__).resolve().parent / "answers"
#: The only lines each answer adds to what the real cluster was sent at capture time.
ADDED = {
    "media-1_sofia.conf.xml": ['<param name="apply-inbound-acl" value="media-peers" />'],
    "media-1_acl.conf.xml": ['<list name="media-peers" default="deny">', '<node type="allow" cidr="127.0.0.12/32" />',
                             "</list>"],
}


def reference(name: str) -> bytes:
    """The answer a test compares with: today's reference where it grew, else the captured one."""
    path = ANSWERS / f"{name}.xml"
    return path.read_bytes() if path.exists() else (CONFORMANCE / "cluster" / f"{name}.xml").read_bytes()


@pytest.mark.parametrize("name", sorted(ADDED))
def test_answers_differ_from_the_capture_only_by_the_documented_lines(name):
    captured = (CONFORMANCE / "cluster" / name).read_text().splitlines()
    ours = (ANSWERS / name).read_text().splitlines()
    diff = [line for line in difflib.ndiff(captured, ours) if line[:2] in ("- ", "+ ")]
    assert [line[2:].strip() for line in diff if line.startswith("+ ")] == ADDED[name]
    assert not [line for line in diff if line.startswith("- ")]
